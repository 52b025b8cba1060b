-- Every scored reading with what each detector says, and each room's runs of consecutive flagged
-- readings numbered as anomaly events (gaps and islands): a level shift or a stuck sensor flags
-- a run of readings, and a dashboard counts it once. A reading is flagged when the Random Cut
-- Forest scores it above the room model's threshold or the stuck rule holds it.

with

scores as (

    select * from {{ ref('stg_ml_scores__anomaly_scores') }}

),

stuck as (

    select * from {{ ref('int_temperature_stuck_readings') }}

),

flagged as (

    select
        scores.reading_id,
        scores.room_id,
        scores.reading_at,
        scores.reading_date,
        scores.temperature_c,
        scores.anomaly_score,
        scores.score_threshold,
        scores.model_version,
        scores.trained_at,
        scores.engine,
        scores.is_anomaly as is_rcf_flagged,
        coalesce(stuck.is_stuck, false) as is_stuck_flagged
    from scores
    left join stuck on scores.reading_id = stuck.reading_id

),

marked as (

    select
        *,
        is_rcf_flagged or is_stuck_flagged as is_anomaly,
        case
            when (is_rcf_flagged or is_stuck_flagged)
                and not coalesce(
                    lag(is_rcf_flagged or is_stuck_flagged)
                        over (partition by room_id order by reading_at),
                    false
                )
                then 1
            else 0
        end as starts_event
    from flagged

),

numbered as (

    select
        *,
        sum(starts_event) over (
            partition by room_id order by reading_at rows between unbounded preceding and current row
        ) as event_number
    from marked

),

evented as (

    select
        *,
        case
            when is_anomaly
                then {{ dbt.concat(['room_id', "'-'", dbt.cast('event_number', dbt.type_string())]) }}
        end as anomaly_event_id
    from numbered

),

detectors as (

    select
        *,
        max(case when is_rcf_flagged then 1 else 0 end)
            over (partition by anomaly_event_id) as event_has_rcf,
        max(case when is_stuck_flagged then 1 else 0 end)
            over (partition by anomaly_event_id) as event_has_stuck
    from evented

)

select
    reading_id,
    room_id,
    reading_at,
    reading_date,
    temperature_c,
    anomaly_score,
    score_threshold,
    is_rcf_flagged,
    is_stuck_flagged,
    is_anomaly,
    {{ eventlake.detected_by('is_rcf_flagged', 'is_stuck_flagged') }} as detected_by,
    anomaly_event_id,
    case
        when anomaly_event_id is not null
            then {{ eventlake.detected_by('event_has_rcf = 1', 'event_has_stuck = 1') }}
    end as event_detected_by,
    model_version,
    trained_at,
    engine
from detectors
