{{ config(materialized='view') }}

-- The landed scores as they are: one row per scored reading (re-scoring replaces partitions).

with

source as (

    select * from {{ source('ml_scores', 'anomaly_scores') }}

),

renamed as (

    select
        reading_id,
        room_id,
        reading_at,
        reading_date,
        temperature_c,
        anomaly_score,
        score_threshold,
        is_anomaly,
        model_version,
        trained_at,
        engine,
        landed_at
    from source

)

select * from renamed
