-- One reading per (room, reading time). Firehose delivers at least once, history and the
-- database extract overlap live data, and a file can repeat a time (a clock stepping back), so
-- several lines can claim the same reading, with the same or different values. The winner is one
-- documented, deterministic rule (eventlake.temperature_claim_rank; docs/feeds/temperature.md):
--   1. the feed: live Firehose over the database extract over historical files (the live feed is
--      the system of record; imports land later, so landing order alone would let them win);
--   2. within a feed, the latest landing wins (a re-sent, corrected reading replaces the first);
--   3. then the later object name (Firehose names sort by processing time);
--   4. then, within one object (no engine gives a line's position), the higher temperature, then
--      the higher line occurrence, then the line key (only left to choose among identical copies).
-- Every claim with another value than the winner's is counted in int_temperature_reading_conflicts.
-- event_date is a function of reading_at: partitioning by it too changes nothing but lets the
-- engine push an event-date filter below the window (incremental runs rebuild a few dates).

with

readings as (

    select * from {{ ref('int_temperature_readings_unioned') }}

),

ranked as (

    select
        *,
        {{ eventlake.temperature_claim_rank() }} as claim_rank,
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
