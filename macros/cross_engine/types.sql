{#-
    A 64-bit float, in each engine's own spelling: DOUBLE on DuckDB and Athena (Trino), DOUBLE
    PRECISION on Redshift, which has no DOUBLE. dbt.type_float() is no substitute: FLOAT is a
    32-bit REAL on DuckDB. (Contracts declare the same in their yml: data_type is rendered with
    `target`, so the marts' ymls spell it per engine the same way.)
-#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'eventlake')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    {{ return('double precision') }}
{%- endmacro %}

{% macro duckdb__type_double() -%}
    {{ return('double') }}
{%- endmacro %}

{% macro athena__type_double() -%}
    {{ return('double') }}
{%- endmacro %}
