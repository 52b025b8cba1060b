{#- The local lake folder (DuckDB only): the directory that stands in for the S3 bucket. -#}
{% macro lake_path(zone) -%}
    {{- env_var('EVENTLAKE_DATA_DIR', 'data') ~ '/lake/' ~ zone -}}
{%- endmacro %}


{#-
    The newest landing time already processed by an incremental model, as a SQL literal, or
    none. Read with run_query (not a subquery) so the engine can prune raw objects by name.
-#}
{% macro landed_watermark(relation, column='landed_at') -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set result = run_query('select max(' ~ column ~ ') from ' ~ relation) -%}
    {%- set value = result.columns[0].values()[0] -%}
    {{ return(none if value is none else "timestamp '" ~ value ~ "'") }}
{%- endmacro %}
