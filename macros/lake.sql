{#- The local lake folder (DuckDB only): the directory that stands in for the S3 bucket. -#}
{% macro lake_path(zone) -%}
    {{- env_var('EVENTLAKE_DATA_DIR', 'data') ~ '/lake/' ~ zone -}}
{%- endmacro %}


{#-
    The largest value of a timestamp column as a SQL literal, or none when the table is empty.
    Read with run_query (not a subquery) so the engine can prune on it.
-#}
{% macro max_timestamp_literal(relation, column) -%}
    {%- set values = eventlake.query_column(
        'select max(' ~ column ~ ') from ' ~ relation, ['2000-01-01 00:00:00']
    ) -%}
    {%- set value = values[0] if values else none -%}
    {{ return(none if value is none else "cast('" ~ value ~ "' as " ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}
