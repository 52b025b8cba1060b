{#-
    Per location, ordered by measurement time: the previous speed (lag), the speed-difference
    indicator, rolling averages over the last 3 and 20 measurements, the same over the last 3 and
    20 minutes, and the jam indicators. Speeds are class 2 (cars), as in the seed's query.

    The rolling averages over measurements follow a run of measurements: a gap longer than
    var traffic_max_gap_minutes starts a new run, so a detector back from an outage does not
    average in speeds from before it. That also bounds how far any window reaches, which is what
    lets an incremental run rebuild just the (location, hour) slices new lines touch, reading only
    those locations' hours their windows reach back into, and still equal a full refresh.
    On Athena, whose insert_overwrite rewrites whole Hive partitions, the rebuilt unit is the
    hour of every location instead (partition_rebuild_key).
-#}
{%- set slice_key = ['location_id', 'measured_hour'] -%}
{%- set rebuild_key = eventlake.partition_rebuild_key('measured_hour', slice_key) -%}
{{ config(**eventlake.partition_rebuild_config(
    unique_key=rebuild_key,
    partition_by=['year', 'month', 'day', 'hour'],
    dist='location_id',
    sort=['measured_at', 'location_id'],
)) }}

{%- set staged_lines = ref('stg_traffic_firehose__measurements') -%}
{%- set incremental = eventlake.incremental_run() -%}
{%- set by_slice = incremental and rebuild_key == slice_key -%}
{%- set watermark = eventlake.max_timestamp_literal(this, '_staged_through') if incremental else none -%}
{%- set hours_to_rebuild = eventlake.traffic_hours_to_rebuild(staged_lines, watermark)
    if incremental else [] -%}
{%- set run_partition = 'partition by location_id, run_number order by measured_at' -%}

with

{%- if by_slice %}

{{ eventlake.traffic_slices_to_rebuild_ctes(staged_lines, watermark, hours_to_rebuild) }},

slices_to_read as (

    {{ eventlake.traffic_slices_to_read('traffic_slices_to_rebuild') }}

),
{%- endif %}

measurements as (

    select deduplicated.* from {{ ref('int_traffic_measurements_deduplicated') }} as deduplicated
    {{ eventlake.traffic_rows_in(
        'deduplicated', 'location_id',
        'slices_to_read' if by_slice else none,
        eventlake.traffic_hours_to_read(hours_to_rebuild) if incremental else none,
    ) }}

),

with_previous_time as (

    select
        *,
        lag(measured_at) over (partition by location_id order by measured_at) as previous_measured_at
    from measurements

),

runs as (

    select
        *,
        sum(
            case
                when
                    previous_measured_at is null
                    or measured_at
                    > {{ dbt.dateadd('minute', var('traffic_max_gap_minutes'), 'previous_measured_at') }}
                    then 1
                else 0
            end
        ) over (
            partition by location_id order by measured_at rows between unbounded preceding and current row
        ) as run_number
    from with_previous_time

),

row_windows as (

    select
        *,
        lag(speed_class2_kmh) over ({{ run_partition }}) as previous_speed_kmh,
        avg(speed_class2_kmh) over (
            {{ run_partition }} rows between 2 preceding and current row
        ) as avg_speed_last_3_kmh,
        avg(speed_class2_kmh) over (
            {{ run_partition }} rows between 19 preceding and current row
        ) as avg_speed_last_20_kmh
    from runs

),

time_windows as (

    {{ eventlake.trailing_time_averages(
        'row_windows', 'measurement_id', 'location_id', 'measured_at', 'speed_class2_kmh',
        {'avg_speed_3_minutes_kmh': 3, 'avg_speed_20_minutes_kmh': 20}
    ) }}

),

staged as (

    select max(staged_at) as staged_through
    from {{ ref('stg_traffic_firehose__measurements') }}
    where rejection_reason is null

)

select
    time_windows.measurement_id,
    time_windows.location_id,
    time_windows.measured_at,
    time_windows.measured_at_local,
    time_windows.measured_hour,
    time_windows.speed_class2_kmh,
    time_windows.previous_speed_kmh,
    case
        when time_windows.speed_class2_kmh - time_windows.previous_speed_kmh >= 20 then 1
        when time_windows.speed_class2_kmh - time_windows.previous_speed_kmh <= -20 then -1
        else 0
    end as speed_diff_indicator,
    time_windows.avg_speed_last_3_kmh,
    time_windows.avg_speed_last_20_kmh,
    time_windows.avg_speed_3_minutes_kmh,
    time_windows.avg_speed_20_minutes_kmh,
    {{ eventlake.traffic_jam_indicator('time_windows.avg_speed_last_3_kmh') }} as traffic_jam_indicator,
    {{ eventlake.traffic_jam_indicator('time_windows.avg_speed_last_20_kmh') }} as traffic_jam_indicator_long,
    time_windows.speed_class2_no_data_code,
    {%- for class in [3, 4, 5] %}
        time_windows.speed_class{{ class }}_kmh,
        time_windows.speed_class{{ class }}_no_data_code,
    {%- endfor %}
    {%- for class in [2, 3, 4, 5] %}
        time_windows.vehicles_class{{ class }},
    {%- endfor %}
    time_windows.occupancy_pct,
    time_windows.is_occupancy_unknown,
    time_windows.claim_count,
    time_windows.measurement_line_id,
    time_windows.landed_at,
    staged.staged_through as _staged_through,
    {{ eventlake.date_part_int('year', 'time_windows.measured_at') }} as year,  -- noqa: RF04
    {{ eventlake.date_part_int('month', 'time_windows.measured_at') }} as month,  -- noqa: RF04
    {{ eventlake.date_part_int('day', 'time_windows.measured_at') }} as day,  -- noqa: RF04
    {{ eventlake.date_part_int('hour', 'time_windows.measured_at') }} as hour  -- noqa: RF04
from time_windows
cross join staged
{{ eventlake.traffic_rows_in(
    'time_windows', 'location_id',
    'traffic_slices_to_rebuild' if by_slice else none,
    hours_to_rebuild if incremental else none,
) }}
