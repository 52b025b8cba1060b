-- Daily statistics per room; coverage compares the readings received with the sensors' cadence.
-- Means and deviations are exact sums rounded to 1e-6 °C (macros/exact_aggregates.sql; readings
-- have 0.01 °C resolution): a parallel float sum adds in no fixed order, and two builds of the
-- same data must not differ.

with

readings as (

    select * from {{ ref('fct_temperature_readings') }}

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

)

select
    {{ dbt.hash(dbt.concat(['room_id', "'|'", dbt.cast('event_date', dbt.type_string())])) }}
        as room_day_id,
    room_id,
    event_date,
    min_temperature_c,
    mean_temperature_c,
    max_temperature_c,
    stddev_temperature_c,
    reading_count,
    cast(86400 / {{ var('expected_reading_interval_seconds') }} as integer) as expected_reading_count,
    cast(reading_count as {{ eventlake.type_double() }})
    / (86400 / {{ var('expected_reading_interval_seconds') }}) as coverage_ratio,
    first_reading_at,
    last_reading_at
from daily
