-- The registered rooms (seed defaults + the data folder's registry file) with their expected
-- cadence and the span of readings each has delivered.

with

rooms as (

    select * from {{ ref('int_room_cadences') }}

),

readings as (

    select
        room_id,
        min(reading_at) as first_reading_at,
        max(reading_at) as last_reading_at,
        count(*) as reading_count
    from {{ ref('fct_temperature_readings') }}
    group by room_id

)

select
    rooms.room_id,
    rooms.room_name,
    rooms.location,
    rooms.building,
    -- sqlfluff's athena dialect (make sqllint) reads the column as the function floor()
    rooms.floor,  -- noqa: PRS
    rooms.sensor_model,
    rooms.installed_on,
    rooms.registered_in,
    rooms.retired_at,
    rooms.expected_interval_seconds,
    rooms.cadence_source,
    readings.first_reading_at,
    readings.last_reading_at,
    coalesce(readings.reading_count, 0) as reading_count
from rooms
left join readings on rooms.room_id = readings.room_id
