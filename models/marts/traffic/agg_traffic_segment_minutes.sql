{#-
    One row per road segment (the lanes of one road, direction and place) and minute: how many
    lanes reported, their mean and lowest car speed, vehicles, occupancy, lanes in a jam, and the
    segment's own jam indicator from its lanes' 3-measurement averages. Partitioned by measurement
    hour like fct_traffic_measurements. A minute spans the segment's detectors, so an incremental
    run rebuilds the (segment, hour) slices in which any detector's rows were rewritten, from all
    of that segment's detectors (delete+insert on that key); on Athena, the whole hours.
-#}
{%- set slice_key = ['segment_id', 'measured_hour'] -%}
{%- set rebuild_key = eventlake.partition_rebuild_key('measured_hour', slice_key) -%}
{{ config(**eventlake.partition_rebuild_config(
    unique_key=rebuild_key,
    partition_by=['year', 'month', 'day', 'hour'],
    dist='segment_id',
    sort=['measured_minute', 'segment_id'],
)) }}

{%- set fact = ref('fct_traffic_measurements') -%}
{%- set incremental = eventlake.incremental_run() -%}
{%- set by_slice = incremental and rebuild_key == slice_key -%}
{%- set watermark = eventlake.max_timestamp_literal(this, '_staged_through') if incremental else none -%}
{%- set hours_to_rebuild = eventlake.hours_rebuilt_upstream(fact, watermark) if incremental else [] -%}

with

staged as (

    -- this run's mark, on every row it writes (also a minute none of whose own detectors was
    -- rewritten), so the data tests of an increment see all of them (get_where_subquery)
    select max(_staged_through) as staged_through
    from {{ fact }}

),

{%- if by_slice %}

slices_to_rebuild as (

    -- the segments and hours with a detector's rows rewritten since this model's last run
    select distinct segment_id, measured_hour
    from {{ fact }}
    where
        {{ eventlake.is_one_of('measured_hour', hours_to_rebuild, dbt.type_timestamp()) }}
        {%- if watermark is not none %}
        and _staged_through > {{ watermark }}
        {%- endif %}

),
{%- endif %}

measurements as (

    select
        fact.*,
        {{ dbt.date_trunc('minute', 'fact.measured_at') }} as measured_minute,
        fact.vehicles_class2 + fact.vehicles_class3 + fact.vehicles_class4 + fact.vehicles_class5 as vehicles,
        staged.staged_through as run_staged_through
    from {{ fact }} as fact
    cross join staged
    {{ eventlake.traffic_rows_in(
        'fact', 'segment_id',
        'slices_to_rebuild' if by_slice else none,
        hours_to_rebuild if incremental else none,
    ) }}

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
        max(run_staged_through) as _staged_through,
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
