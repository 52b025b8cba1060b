{#-
    One row per room and reading time, partitioned by the event date (never the arrival time).
    An incremental run finds the event dates that lines staged since its last run touch (late
    data included) and rebuilds exactly those partitions from every accepted line of those dates,
    so it equals a full refresh.
-#}
{{ config(**eventlake.partition_rebuild_config(
    unique_key='event_date',
    partition_by=['event_date'],
    dist='room_id',
    sort=['event_date', 'room_id', 'reading_at'],
)) }}

{%- set touched_dates = eventlake.partitions_to_rebuild(
    ref('int_temperature_readings_unioned'), 'event_date'
) if eventlake.incremental_run() else [] -%}

with

readings as (

    select * from {{ ref('int_temperature_readings_deduplicated') }}
    {%- if eventlake.incremental_run() %}
        where {{ eventlake.is_one_of('event_date', touched_dates, 'date') }}
    {%- endif %}

),

staged as (

    select max(staged_at) as staged_through
    from {{ ref('int_temperature_readings_unioned') }}

)

select
    readings.reading_id,
    readings.room_id,
    readings.reading_at,
    readings.temperature_c,
    readings.feed,
    readings.claim_count,
    readings.reading_line_id,
    readings.landed_at,
    readings.event_year,
    readings.event_month,
    readings.event_day,
    readings.event_hour,
    staged.staged_through as _staged_through,
    cast('{{ invocation_id }}' as {{ dbt.type_string() }}) as _dbt_invocation_id,
    readings.event_date
from readings
cross join staged
