-- Per room and UTC day: how much was scored, how many readings were flagged (by either
-- detector, and by each) and in how many events, and the worst score against the threshold.

with

anomalies as (

    select * from {{ ref('fct_temperature_anomalies') }}

),

daily as (

    select
        room_id,
        reading_date,
        count(*) as scored_reading_count,
        count(case when is_anomaly then 1 end) as anomalous_reading_count,
        count(distinct anomaly_event_id) as anomaly_event_count,
        count(case when is_rcf_flagged then 1 end) as rcf_flagged_reading_count,
        count(case when is_stuck_flagged then 1 end) as stuck_flagged_reading_count,
        max(anomaly_score) as max_anomaly_score,
        max(score_threshold) as score_threshold,
        min(case when is_anomaly then reading_at end) as first_anomaly_at,
        max(case when is_anomaly then reading_at end) as last_anomaly_at,
        max(model_version) as model_version
    from anomalies
    group by room_id, reading_date

)

select
    {{ dbt.hash(dbt.concat(['room_id', "'|'", dbt.cast('reading_date', dbt.type_string())])) }}
        as room_day_id,
    room_id,
    reading_date,
    scored_reading_count,
    anomalous_reading_count,
    anomaly_event_count,
    rcf_flagged_reading_count,
    stuck_flagged_reading_count,
    max_anomaly_score,
    score_threshold,
    first_anomaly_at,
    last_anomaly_at,
    model_version
from daily
