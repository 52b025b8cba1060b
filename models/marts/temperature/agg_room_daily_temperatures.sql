-- Daily statistics per room; coverage compares the readings received with the room's own
-- cadence (dim_rooms.expected_interval_seconds: registered, else inferred).
-- Means and deviations are exact sums rounded to 1e-6 °C (macros/exact_aggregates.sql; readings
-- have 0.01 °C resolution): a parallel float sum adds in no fixed order, and two builds of the
-- same data must not differ.
-- Incremental: a run rebuilds the event dates the fact rebuilt since (late data included) and
-- every date of a room whose cadence changed (eventlake.daily_partitions_to_rebuild), so it
-- equals a full refresh.
{{ config(**eventlake.partition_rebuild_config(
    unique_key='event_date',
    partition_by=['event_date'],
    dist='room_id',
    sort=['event_date', 'room_id'],
)) }}

{%- set rebuilt_dates = eventlake.daily_partitions_to_rebuild(
    ref('fct_temperature_readings'), ref('dim_rooms'), var('expected_reading_interval_seconds')
) if eventlake.incremental_run() else [] %}

with

readings as (

    select * from {{ ref('fct_temperature_readings') }}
    {%- if eventlake.incremental_run() %}
        where {{ eventlake.is_one_of('event_date', rebuilt_dates, 'date') }}
    {%- endif %}

),

staged as (

    -- the fact's staging watermark: the next run rebuilds the dates the fact rebuilds after it
    select max(_staged_through) as staged_through
    from {{ ref('fct_temperature_readings') }}

),

daily as (

    select
        room_id,
        event_date,
        min(temperature_c) as min_temperature_c,
        {{ eventlake.exact_avg('temperature_c') }} as mean_temperature_c,
        max(temperature_c) as max_temperature_c,
        {{ eventlake.exact_stddev_samp('temperature_c') }} as stddev_temperature_c,
        count(*) as reading_count,
        min(reading_at) as first_reading_at,
        max(reading_at) as last_reading_at
    from readings
    group by room_id, event_date

),

rooms as (

    -- a room no longer in the registry keeps its readings; it is measured at the default cadence
    select
        readings_rooms.room_id,
        coalesce(
            dim_rooms.expected_interval_seconds, {{ var('expected_reading_interval_seconds') }}
        ) as expected_interval_seconds,
        -- a full UTC day's readings at that cadence, at least one (a cadence longer than a day)
        greatest(
            floor(
                cast(86400 as {{ eventlake.type_double() }})
                / coalesce(
                    dim_rooms.expected_interval_seconds,
                    {{ var('expected_reading_interval_seconds') }}
                )
            ),
            1
        ) as expected_reading_count
    from (select distinct room_id from daily) as readings_rooms
    left join {{ ref('dim_rooms') }} as dim_rooms
        on readings_rooms.room_id = dim_rooms.room_id

)

select
    {{ dbt.hash(dbt.concat(['daily.room_id', "'|'", dbt.cast('daily.event_date', dbt.type_string())])) }}
        as room_day_id,
    daily.room_id,
    daily.min_temperature_c,
    daily.mean_temperature_c,
    daily.max_temperature_c,
    daily.stddev_temperature_c,
    daily.reading_count,
    rooms.expected_interval_seconds,
    cast(rooms.expected_reading_count as integer) as expected_reading_count,
    cast(daily.reading_count as {{ eventlake.type_double() }}) / rooms.expected_reading_count
        as coverage_ratio,
    daily.first_reading_at,
    daily.last_reading_at,
    staged.staged_through as _staged_through,
    -- the partition column, last (Athena's Hive tables want it there)
    daily.event_date
from daily
inner join rooms on daily.room_id = rooms.room_id
cross join staged
