-- Every registered room with the cadence its readings are expected at: the registry's
-- expected_interval_seconds when given, else the median interval between the room's consecutive
-- readings, else (fewer than two readings) var expected_reading_interval_seconds. A room with
-- readings but no registry row any more (a row deleted by hand; staging parsed its lines when it
-- was registered) stays listed as not_registered, so the fact never points at a missing room.
-- The median is computed with row numbers (the middle one or two of the ordered intervals), the
-- same SQL on every engine.

with

registry as (

    select * from {{ ref('stg_device_registry__rooms') }}

),

readings as (

    select
        room_id,
        reading_at
    from {{ ref('int_temperature_readings_deduplicated') }}

),

intervals as (

    select
        room_id,
        {{ eventlake.epoch_seconds_between(
            'lag(reading_at) over (partition by room_id order by reading_at)', 'reading_at'
        ) }} as interval_seconds
    from readings

),

ordered as (

    select
        room_id,
        interval_seconds,
        row_number() over (partition by room_id order by interval_seconds) as interval_rank,
        count(*) over (partition by room_id) as interval_count
    from intervals
    where interval_seconds > 0

),

inferred as (

    -- the middle interval (odd count) or the two middle ones (even count): 2 * rank in [n, n + 2]
    select
        room_id,
        cast(round(avg(cast(interval_seconds as {{ eventlake.type_double() }})), 0) as bigint)
            as inferred_interval_seconds
    from ordered
    where interval_rank * 2 between interval_count and interval_count + 2
    group by room_id

),

rooms as (

    select distinct listed.room_id
    from (
        select room_id from registry
        union all
        select room_id from readings
    ) as listed

)

select
    rooms.room_id,
    registry.room_name,
    registry.location,
    registry.building,
    -- sqlfluff's athena dialect reads the column as the function floor()
    registry.floor,  -- noqa: PRS
    registry.sensor_model,
    registry.installed_on,
    registry.retired_at,
    coalesce(registry.registered_in, 'not_registered') as registered_in,
    registry.expected_interval_seconds as registered_interval_seconds,
    inferred.inferred_interval_seconds,
    cast(coalesce(
        registry.expected_interval_seconds,
        inferred.inferred_interval_seconds,
        {{ var('expected_reading_interval_seconds') }}
    ) as bigint) as expected_interval_seconds,
    case
        when registry.expected_interval_seconds is not null then 'registry'
        when inferred.inferred_interval_seconds is not null then 'inferred'
        else 'default'
    end as cadence_source
from rooms
left join registry on rooms.room_id = registry.room_id
left join inferred on rooms.room_id = inferred.room_id
