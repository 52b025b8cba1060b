{#- The local lake folder (DuckDB only): the directory that stands in for the S3 bucket. -#}
{% macro lake_path(zone) -%}
    {{- env_var('EVENTLAKE_DATA_DIR', 'data') ~ '/lake/' ~ zone -}}
{%- endmacro %}


{#-
    The newest landing time already processed by an incremental model, as a SQL literal, or
    none. Read with run_query (not a subquery) so the engine can prune raw objects by name.
-#}
{% macro landed_watermark(relation, column='landed_at') -%}
    {%- set values = eventlake.query_column(
        'select max(' ~ column ~ ') from ' ~ relation, ['2000-01-01 00:00:00']
    ) -%}
    {%- set value = values[0] if values else none -%}
    {{ return(none if value is none else "timestamp '" ~ value ~ "'") }}
{%- endmacro %}
