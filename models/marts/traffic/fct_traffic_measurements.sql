{#-
    One row per detector and measurement minute, with its windows and indicators and the road
    segment it belongs to, partitioned by the hour it was measured (year/month/day/hour), never
    the hour it arrived. An incremental run rewrites exactly the rows the windowed model rewrote
    since this model's last run (they carry a newer _staged_through): on DuckDB and Redshift whole
    (detector, hour) slices, replaced by delete+insert on that key, so late lines rewrite only
    their detectors' old hours; on Athena whole hours (insert_overwrite of the hour partitions),
    batched through dbt-athena's partitions_limit, so a backfill of more than 100 hours needs no
    date ranges.
-#}
{{ config(**eventlake.partition_rebuild_config(
    unique_key=eventlake.partition_rebuild_key('measured_hour', ['location_id', 'measured_hour']),
    partition_by=['year', 'month', 'day', 'hour'],
    dist='location_id',
    sort=['measured_at', 'location_id'],
)) }}

{%- set windowed = ref('int_traffic_measurements_windowed') -%}
{%- set incremental = eventlake.incremental_run() -%}
{%- set watermark = eventlake.max_timestamp_literal(this, '_staged_through') if incremental else none -%}
{%- set hours_to_rebuild = eventlake.hours_rebuilt_upstream(windowed, watermark) if incremental else [] -%}

with

measurements as (

    select * from {{ windowed }}
    {%- if incremental %}
        -- the hour list lets the engine prune; the watermark keeps the rewritten slices only
        where
            {{ eventlake.is_one_of('measured_hour', hours_to_rebuild, dbt.type_timestamp()) }}
            {%- if watermark is not none %}
            and _staged_through > {{ watermark }}
            {%- endif %}
    {%- endif %}

),

locations as (

    -- the registered detectors: the seed traffic_locations and the data folder's registry file
    select * from {{ ref('int_traffic_locations_registered') }}

)

select
    measurements.measurement_id,
    measurements.location_id,
    locations.segment_id,
    locations.road,
    locations.direction,
    locations.lane,
    measurements.measured_at,
    measurements.measured_at_local,
    measurements.measured_hour,
    measurements.speed_class2_kmh,
    measurements.previous_speed_kmh,
    measurements.speed_diff_indicator,
    measurements.avg_speed_last_3_kmh,
    measurements.avg_speed_last_20_kmh,
    measurements.avg_speed_3_minutes_kmh,
    measurements.avg_speed_20_minutes_kmh,
    measurements.traffic_jam_indicator,
    measurements.traffic_jam_indicator_long,
    measurements.speed_class2_no_data_code,
    {%- for class in [3, 4, 5] %}
        measurements.speed_class{{ class }}_kmh,
        measurements.speed_class{{ class }}_no_data_code,
    {%- endfor %}
    {%- for class in [2, 3, 4, 5] %}
        measurements.vehicles_class{{ class }},
    {%- endfor %}
    measurements.occupancy_pct,
    measurements.is_occupancy_unknown,
    measurements.claim_count,
    measurements.measurement_line_id,
    measurements.landed_at,
    measurements._staged_through,
    cast('{{ invocation_id }}' as {{ dbt.type_string() }}) as _dbt_invocation_id,
    measurements.year,
    measurements.month,
    measurements.day,
    measurements.hour
from measurements
inner join locations on measurements.location_id = locations.location_id
