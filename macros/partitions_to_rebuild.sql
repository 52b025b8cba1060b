{#-
    The partition values an incremental fact must rebuild: those of upstream rows staged after
    the fact's last run (the maximum of its _staged_through). Late data lands in old partitions,
    so these are whatever the new lines say, not the newest dates. `staged_column` names the
    upstream's staging time (a feed whose rows are revised can pass the latest staging time of
    each row's entity, so every partition its versions sit in is rebuilt).
-#}
{% macro partitions_to_rebuild(upstream, partition_column, staged_column='staged_at') -%}
    {%- set watermark = eventlake.max_timestamp_literal(this, '_staged_through') -%}
    {%- set sql = eventlake.partitions_to_rebuild_sql(upstream, partition_column, staged_column, watermark) -%}
    {{ return(eventlake.query_column(sql, ['2000-01-01'])) }}
{%- endmacro %}

{#- The query behind partitions_to_rebuild, given the watermark literal (none: nothing built yet). -#}
{% macro partitions_to_rebuild_sql(upstream, partition_column, staged_column, watermark) -%}
        select distinct cast({{ partition_column }} as {{ dbt.type_string() }})
        from {{ upstream }}
        {%- if watermark is not none %}
        where {{ staged_column }} > {{ watermark }}
        {%- endif %}
        order by 1
{%- endmacro %}


{#-
    The event dates a daily aggregate must rebuild: those its upstream fact rebuilt since the
    aggregate's last run (the fact's _staged_through above the aggregate's), plus every date of a
    room whose cadence changed since (the stored expected_interval_seconds differs from
    dim_rooms', registered or inferred: a registry edit or new data moves it). Whole dates are
    rebuilt, so Athena's insert_overwrite and delete+insert on event_date replace the same rows.
-#}
{% macro daily_partitions_to_rebuild(fact, rooms, default_interval_seconds) -%}
    {%- set watermark = eventlake.max_timestamp_literal(this, '_staged_through') -%}
    {%- set sql -%}
        {{ eventlake.partitions_to_rebuild_sql(fact, 'event_date', '_staged_through', watermark) }}
    {%- endset -%}
    {%- set dates = eventlake.query_column(sql, ['2000-01-01']) | list -%}
    {%- set cadence_sql -%}
        select distinct cast(built.event_date as {{ dbt.type_string() }})
        from {{ this }} as built
        left join {{ rooms }} as rooms on built.room_id = rooms.room_id
        where built.expected_interval_seconds
            <> coalesce(rooms.expected_interval_seconds, {{ default_interval_seconds }})
        order by 1
    {%- endset -%}
    {%- for day in eventlake.query_column(cadence_sql, ['2000-01-02']) -%}
        {%- if day not in dates -%}{%- do dates.append(day) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(dates | sort) }}
{%- endmacro %}
