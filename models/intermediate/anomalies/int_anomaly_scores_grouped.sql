-- Groups each room's consecutive flagged readings into one anomaly event (gaps and islands):
-- a level shift or stuck sensor flags a run of readings, and a dashboard counts it once.

with

scores as (

    select * from {{ ref('stg_ml_scores__anomaly_scores') }}

),

marked as (

    select
        *,
        case
            when is_anomaly
                and not coalesce(
                    lag(is_anomaly) over (partition by room_id order by reading_at), false
                )
                then 1
            else 0
        end as starts_event
    from scores

),

numbered as (

    select
        *,
        sum(starts_event) over (
            partition by room_id order by reading_at rows between unbounded preceding and current row
        ) as event_number
    from marked

)

select
    reading_id,
    room_id,
    reading_at,
    reading_date,
    temperature_c,
    anomaly_score,
    score_threshold,
    is_anomaly,
    case
        when is_anomaly
            then {{ dbt.concat(['room_id', "'-'", dbt.cast('event_number', dbt.type_string())]) }}
    end as anomaly_event_id,
    model_version,
    trained_at,
    engine
from numbered
