-- Accepted readings of every temperature feed in one shape. Feed priority decides the
-- de-duplication winner downstream: the live device feed is the system of record, the database
-- extract comes next, historical files only fill gaps.

with

firehose as (

    select * from {{ ref('stg_sensor_firehose__readings') }}
    where rejection_reason is null

),

db_extract as (

    select * from {{ ref('stg_sensor_db__temperatures') }}
    where rejection_reason is null

),

history_files as (

    select * from {{ ref('stg_sensor_history__readings') }}
    where rejection_reason is null

),

unioned as (

    select
        *,
        1 as feed_priority
    from firehose
    union all
    select
        *,
        2 as feed_priority
    from db_extract
    union all
    select
        *,
        3 as feed_priority
    from history_files

)

select
    reading_line_id,
    feed,
    feed_priority,
    room_id,
    reading_at,
    temperature_c,
    event_date,
    event_year,
    event_month,
    event_day,
    event_hour,
    source_file,
    line_occurrence,
    landed_at,
    staged_at
from unioned
