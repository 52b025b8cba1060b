{{ config(
    materialized='table',
    **eventlake.physical_layout(partition_by=['reading_date'], dist='room_id', sort=['room_id', 'reading_at'])
) }}

-- Every scored reading with its Random Cut Forest score, the room model's threshold, what each
-- detector (forest, stuck rule) flagged, and the anomaly event it belongs to.

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
    is_rcf_flagged,
    is_stuck_flagged,
    is_anomaly,
    detected_by,
    anomaly_event_id,
    event_detected_by,
    model_version,
    trained_at,
    engine,
    reading_date
from scores
