{#-
    The partition values an incremental fact must rebuild: those of upstream rows staged after
    the fact's last run (the maximum of its _staged_through). Late data lands in old partitions,
    so these are whatever the new lines say, not the newest dates.
-#}
{% macro partitions_to_rebuild(upstream, partition_column) -%}
    {%- set watermark = eventlake.max_timestamp_literal(this, '_staged_through') -%}
    {%- set sql -%}
        select distinct cast({{ partition_column }} as {{ dbt.type_string() }})
        from {{ upstream }}
        {%- if watermark is not none %}
        where staged_at > {{ watermark }}
        {%- endif %}
        order by 1
    {%- endset -%}
    {{ return(eventlake.query_column(sql, ['2000-01-01'])) }}
{%- endmacro %}
