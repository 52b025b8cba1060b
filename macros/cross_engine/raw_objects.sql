{#-
    The raw objects of a feed that a staging model has not read yet, as a list of paths/URIs.
    DuckDB lists the lake folder (a glob costs no file reads). Athena and Redshift list the objects
    of recent processing-hour partitions (var raw_relist_hours, default 48) so the scan stays
    within a few partitions; an object landing with a name older than that window needs a full
    refresh of staging, which is the documented backfill path on those engines.
-#}

{% macro unstaged_objects(source_relation, staged_relation) -%}
    {{ return(adapter.dispatch('unstaged_objects', 'eventlake')(source_relation, staged_relation)) }}
{%- endmacro %}

{% macro default__unstaged_objects(source_relation, staged_relation) -%}
    {%- set sql -%}
        select distinct raw.source_file
        from {{ source_relation }} as raw
        where
            raw.landed_at >= {{ dbt.dateadd('hour', -1 * var('raw_relist_hours', 48), dbt.current_timestamp()) }}
            and raw.source_file not in (select staged.source_file from {{ staged_relation }} as staged)
        order by 1
    {%- endset -%}
    {{ return(eventlake.query_column(sql, ['s3://offline-compile/sample-object'])) }}
{%- endmacro %}

{% macro duckdb__unstaged_objects(source_relation, staged_relation) -%}
    {%- set sql -%}
        select listed.file
        from glob('{{ eventlake.lake_path("raw") }}/{{ source_relation.identifier }}/*/*/*/*/*') as listed
        where listed.file not in (select distinct staged.source_file from {{ staged_relation }} as staged)
        order by 1
    {%- endset -%}
    {{ return(eventlake.query_column(sql, ['offline-compile/sample-object'])) }}
{%- endmacro %}
