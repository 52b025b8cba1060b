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
    The measurement hours the windowed model must rebuild: those of measurements staged after its
    last run (the maximum of its _staged_through), and those of later measurements of the same
    location whose windows can see them (within the window reach). Late data therefore rebuilds
    its old hour and the few hours after it. Read from staging: it is appended run by run, so
    the new rows (and the rows after the earliest of them) are a cheap, pruned scan; duplicates
    do not matter here, only which location and hours hold a measurement.
-#}
{% macro traffic_hours_to_rebuild(staged) -%}
    {%- set watermark = eventlake.max_timestamp_literal(this, '_staged_through') -%}
    {%- set sql -%}
        with

        accepted as (
            select location_id, measured_at, measured_hour, staged_at
            from {{ staged }}
            where rejection_reason is null
        ),

        new_measurements as (
            select
                location_id,
                min(measured_at) as first_new_at,
                max(measured_at) as last_new_at
            from accepted
            {%- if watermark is not none %}
            where staged_at > {{ watermark }}
            {%- endif %}
            group by location_id, measured_hour
        )

        select distinct cast(accepted.measured_hour as {{ dbt.type_string() }})
        from accepted
        inner join new_measurements
            on
                accepted.location_id = new_measurements.location_id
                and accepted.measured_at >= new_measurements.first_new_at
                and accepted.measured_at <= {{ dbt.dateadd(
                    'minute', eventlake.traffic_window_reach_minutes(), 'new_measurements.last_new_at'
                ) }}
        where accepted.measured_at >= (select min(first_new_at) from new_measurements)
        order by 1
    {%- endset -%}
    {{ return(eventlake.query_column(sql, ['2000-01-01 00:00:00'])) }}
{%- endmacro %}


{#- The hours an upstream hourly model rewrote since this model's last run (rows it wrote carry
    a newer _staged_through), which are the hours this model must rebuild too. -#}
{% macro hours_rebuilt_upstream(upstream) -%}
    {%- set watermark = eventlake.max_timestamp_literal(this, '_staged_through') -%}
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


{#- The hours a rebuild reads: each rebuilt hour and the hours its windows reach back into. -#}
{% macro traffic_hours_to_read(hours_to_rebuild) -%}
    {%- set reach_hours = (eventlake.traffic_window_reach_minutes() / 60) | round(0, 'ceil') | int -%}
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
