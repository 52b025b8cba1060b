{{ config(
    materialized='table',
    **eventlake.physical_layout(partition_by=['reading_date'], dist='room_id', sort=['room_id', 'reading_at'])
) }}

-- Every scored reading with its Random Cut Forest score, the room model's threshold and flag.

with

scores as (

    select * from {{ ref('int_anomaly_scores_grouped') }}

)

select
    reading_id,
    room_id,
    reading_at,
    temperature_c,
    anomaly_score,
    score_threshold,
    is_anomaly,
    anomaly_event_id,
    model_version,
    trained_at,
    engine,
    reading_date
from scores
