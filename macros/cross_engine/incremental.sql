{#-
    How each engine rewrites the event-time partitions an incremental run touches.
    DuckDB and Redshift delete the touched partitions' rows and insert them again (unique_key is
    the partition column); Athena overwrites the Hive partitions in S3 (insert_overwrite).
-#}

{% macro partition_overwrite_strategy() -%}
    {{ return(adapter.dispatch('partition_overwrite_strategy', 'eventlake')()) }}
{%- endmacro %}

{% macro default__partition_overwrite_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro athena__partition_overwrite_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}
