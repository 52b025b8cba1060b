-- One reading per (room, reading time). Firehose delivers at least once and history overlaps
-- live data, so several lines can claim the same reading. The winner is deterministic: the
-- highest-priority feed, then the first delivery, then the object name, then the line key.
-- event_date is a function of reading_at: partitioning by it too changes nothing but lets the
-- engine push an event-date filter below the window (incremental runs rebuild a few dates).

with

readings as (

    select * from {{ ref('int_temperature_readings_unioned') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by room_id, reading_at, event_date
            order by feed_priority, landed_at, source_file, reading_line_id
        ) as claim_rank,
        count(*) over (partition by room_id, reading_at, event_date) as claim_count
    from readings

)

select
    {{ dbt.hash(dbt.concat(['room_id', "'|'", dbt.cast('reading_at', dbt.type_string())])) }}
        as reading_id,
    room_id,
    reading_at,
    temperature_c,
    event_date,
    event_year,
    event_month,
    event_day,
    event_hour,
    feed,
    claim_count,
    reading_line_id,
    source_file,
    landed_at
from ranked
where claim_rank = 1
