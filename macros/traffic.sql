{#-
    Traffic-jam indicator of an average speed, in contiguous bands:
      1   jam:        0 <= speed <= var traffic_jam_max_speed_kmh (40)
      0   free flow:  40 < speed <= var traffic_max_valid_speed_kmh (250)
     -1   unknown:    no average (every speed in the window was a no-data code), or out of range
    The seed's BETWEEN 0 AND 40 / BETWEEN 41 AND 250 leaves averages between 40 and 41 at -1;
    averages are fractional, so here the bands meet at 40 exactly.
-#}
{% macro traffic_jam_indicator(average_speed) -%}
    case
        when {{ average_speed }} >= 0 and {{ average_speed }} <= {{ var('traffic_jam_max_speed_kmh') }} then 1
        when
            {{ average_speed }} > {{ var('traffic_jam_max_speed_kmh') }}
            and {{ average_speed }} <= {{ var('traffic_max_valid_speed_kmh') }}
            then 0
        else -1
    end
{%- endmacro %}


{#-
    How far back (and ahead) a traffic window can reach, in minutes. The rolling averages over
    the last 3 and 20 measurements never reach across a gap longer than
    var traffic_max_gap_minutes, so the 19 measurements before a row lie within 19 gaps of it,
    and the 20-minute time window within 19 minutes.
-#}
{% macro traffic_window_reach_minutes() -%}
    {{ return(19 * [var('traffic_max_gap_minutes'), 1] | max) }}
{%- endmacro %}


{#-
    The (location, measurement hour) slices the windowed model must rebuild, as CTEs for a WITH
    list; the last, traffic_slices_to_rebuild, holds one row per slice. A slice is rebuilt when
    its location has a measurement staged after `watermark` (the model's last run) in it, or in
    the window reach before one of its measurements: late data rebuilds its location's old hour
    and the hour or few after it, not those hours of every location. Read from staging: it is
    appended run by run, so the new rows (and the rows after the earliest of them) are a cheap,
    pruned scan; duplicates do not matter here, only which location and hours hold a
    measurement. `hours` (the slices' hours, when known) lets the engine prune the scan.
-#}
{% macro traffic_slices_to_rebuild_ctes(staged, watermark, hours=none) -%}
    traffic_accepted as (
        select location_id, measured_at, measured_hour, staged_at
        from {{ staged }}
        where
            rejection_reason is null
            {%- if hours is not none %}
            and {{ eventlake.is_one_of('measured_hour', hours, dbt.type_timestamp()) }}
            {%- endif %}
    ),

    traffic_new_measurements as (
        select
            location_id,
            min(measured_at) as first_new_at,
            max(measured_at) as last_new_at
        from traffic_accepted
        {%- if watermark is not none %}
        where staged_at > {{ watermark }}
        {%- endif %}
        group by location_id, measured_hour
    ),

    traffic_slices_to_rebuild as (
        select distinct
            traffic_accepted.location_id,
            traffic_accepted.measured_hour
        from traffic_accepted
        inner join traffic_new_measurements
            on
                traffic_accepted.location_id = traffic_new_measurements.location_id
                and traffic_accepted.measured_at >= traffic_new_measurements.first_new_at
                and traffic_accepted.measured_at <= {{ dbt.dateadd(
                    'minute', eventlake.traffic_window_reach_minutes(), 'traffic_new_measurements.last_new_at'
                ) }}
        where traffic_accepted.measured_at >= (select min(first_new_at) from traffic_new_measurements)
    )
{%- endmacro %}


{#- The measurement hours the windowed model must rebuild (of any location): the hours of
    traffic_slices_to_rebuild_ctes, read at compile time so the engine can prune on them. -#}
{% macro traffic_hours_to_rebuild(staged, watermark) -%}
    {%- set sql -%}
        with

        {{ eventlake.traffic_slices_to_rebuild_ctes(staged, watermark) }}

        select distinct cast(measured_hour as {{ dbt.type_string() }})
        from traffic_slices_to_rebuild
        order by 1
    {%- endset -%}
    {{ return(eventlake.query_column(sql, ['2000-01-01 00:00:00'])) }}
{%- endmacro %}


{#- The slices a rebuild of `slices` (a relation of location_id, measured_hour) reads: each
    slice and its location's hours the windows reach back into. -#}
{% macro traffic_slices_to_read(slices) -%}
    select distinct
        {{ slices }}.location_id,
        {{ dbt.dateadd('hour', '-reach_back.hours_back', slices ~ '.measured_hour') }} as measured_hour
    from {{ slices }}
    cross join (
        {%- for back in range(eventlake.traffic_reach_hours() + 1) %}
        select {{ back }} as hours_back{{ ' union all' if not loop.last }}
        {%- endfor %}
    ) as reach_back
{%- endmacro %}


{#-
    The tail of a FROM that keeps `alias`'s rows in the (`key`, hour) slices of the relation
    `slices` (none: every slice) and in the hours `hours` (none: every hour). The join picks the
    slices; the hour list, a constant, is what lets the engine prune partitions.
-#}
{% macro traffic_rows_in(alias, key, slices=none, hours=none) -%}
    {%- if slices is not none %}
    inner join {{ slices }}
        on
            {{ alias }}.{{ key }} = {{ slices }}.{{ key }}
            and {{ alias }}.measured_hour = {{ slices }}.measured_hour
    {%- endif %}
    {%- if hours is not none %}
    where {{ eventlake.is_one_of(alias ~ '.measured_hour', hours, dbt.type_timestamp()) }}
    {%- endif %}
{%- endmacro %}


{#- The hours an upstream hourly model rewrote (whole or in slices) since this model's last run
    at `watermark` (rows it wrote carry a newer _staged_through), which are the hours this model
    must rebuild too, or rebuild slices of. -#}
{% macro hours_rebuilt_upstream(upstream, watermark) -%}
    {%- set sql -%}
        select distinct cast(measured_hour as {{ dbt.type_string() }})
        from {{ upstream }}
        {%- if watermark is not none %}
        where _staged_through > {{ watermark }}
        {%- endif %}
        order by 1
    {%- endset -%}
    {{ return(eventlake.query_column(sql, ['2000-01-01 00:00:00'])) }}
{%- endmacro %}


{#- How many hours before a measurement's hour its windows can reach into. -#}
{% macro traffic_reach_hours() -%}
    {{ return((eventlake.traffic_window_reach_minutes() / 60) | round(0, 'ceil') | int) }}
{%- endmacro %}


{#- The hours a rebuild reads: each rebuilt hour and the hours its windows reach back into. -#}
{% macro traffic_hours_to_read(hours_to_rebuild) -%}
    {%- set reach_hours = eventlake.traffic_reach_hours() -%}
    {%- set hours = [] -%}
    {%- for text in hours_to_rebuild -%}
        {%- set hour = modules.datetime.datetime.strptime(text[:13], '%Y-%m-%d %H') -%}
        {%- for back in range(reach_hours, -1, -1) -%}
            {%- set value = (hour - modules.datetime.timedelta(hours=back)).strftime('%Y-%m-%d %H:00:00') -%}
            {%- if value not in hours -%}{%- do hours.append(value) -%}{%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(hours | sort) }}
{%- endmacro %}
