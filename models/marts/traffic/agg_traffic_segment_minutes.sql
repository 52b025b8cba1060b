{#-
    One row per road segment (the lanes of one road, direction and place) and minute: how many
    lanes reported, their mean and lowest car speed, vehicles, occupancy, lanes in a jam, and the
    segment's own jam indicator from its lanes' 3-measurement averages. Partitioned and rebuilt
    by measurement hour exactly like fct_traffic_measurements.
-#}
{{ config(**eventlake.partition_rebuild_config(
    unique_key='measured_hour',
    partition_by=['year', 'month', 'day', 'hour'],
    dist='segment_id',
    sort=['measured_minute', 'segment_id'],
)) }}

{%- set hours_to_rebuild = eventlake.hours_rebuilt_upstream(ref('fct_traffic_measurements'))
    if eventlake.incremental_run() else [] -%}

with

measurements as (

    select
        *,
        {{ dbt.date_trunc('minute', 'measured_at') }} as measured_minute,
        vehicles_class2 + vehicles_class3 + vehicles_class4 + vehicles_class5 as vehicles
    from {{ ref('fct_traffic_measurements') }}
    {%- if eventlake.incremental_run() %}
        where {{ eventlake.is_one_of('measured_hour', hours_to_rebuild, dbt.type_timestamp()) }}
    {%- endif %}

),

segments as (

    select
        segment_id,
        road,
        direction,
        measured_minute,
        measured_hour,
        count(*) as lanes_reporting,
        count(speed_class2_kmh) as lanes_with_speed,
        {{ eventlake.exact_avg('speed_class2_kmh') }} as avg_speed_kmh,
        min(speed_class2_kmh) as min_speed_kmh,
        cast(sum(vehicles) as bigint) as vehicles,
        {{ eventlake.exact_avg('occupancy_pct') }} as avg_occupancy_pct,
        cast(sum(case when traffic_jam_indicator = 1 then 1 else 0 end) as bigint) as lanes_in_jam,
        {{ eventlake.exact_avg('avg_speed_last_3_kmh') }} as avg_lane_speed_last_3_kmh,
        max(_staged_through) as _staged_through,
        year,
        month,
        day,
        hour
    from measurements
    group by segment_id, road, direction, measured_minute, measured_hour, year, month, day, hour

)

select
    {{ dbt.hash(dbt.concat(['segment_id', "'|'", dbt.cast('measured_minute', dbt.type_string())])) }}
        as segment_minute_id,
    segment_id,
    road,
    direction,
    measured_minute,
    measured_hour,
    lanes_reporting,
    lanes_with_speed,
    avg_speed_kmh,
    min_speed_kmh,
    vehicles,
    avg_occupancy_pct,
    lanes_in_jam,
    {{ eventlake.traffic_jam_indicator('avg_lane_speed_last_3_kmh') }} as segment_jam_indicator,
    _staged_through,
    cast('{{ invocation_id }}' as {{ dbt.type_string() }}) as _dbt_invocation_id,
    year,
    month,
    day,
    hour
from segments
