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
