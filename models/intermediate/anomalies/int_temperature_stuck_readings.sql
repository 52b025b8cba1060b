-- The stuck-sensor rule, beside the Random Cut Forest: a run of at least
-- var('stuck_min_readings') consecutive readings of a room that differ from the one before by at
-- most var('stuck_tolerance_c') (0: identical, i.e. zero rolling variance). Readings come at the
-- room's cadence, so N readings in a row span N cadence intervals whatever that cadence is.
-- A flat run sits inside the cloud of normal windows, where the forest does not isolate it.

with

series as (

    select * from {{ ref('int_temperature_readings_deduplicated') }}

),

marked as (

    select
        reading_id,
        room_id,
        reading_at,
        temperature_c,
        case
            when
                abs(temperature_c - lag(temperature_c) over (partition by room_id order by reading_at))
                <= {{ var('stuck_tolerance_c') }}
                then 0
            else 1
        end as starts_run
    from series

),

runs as (

    select
        *,
        sum(starts_run) over (
            partition by room_id order by reading_at rows between unbounded preceding and current row
        ) as run_number
    from marked

),

sized as (

    select
        *,
        count(*) over (partition by room_id, run_number) as run_reading_count
    from runs

)

select
    reading_id,
    room_id,
    reading_at,
    temperature_c,
    run_reading_count,
    run_reading_count >= {{ var('stuck_min_readings') }} as is_stuck
from sized
