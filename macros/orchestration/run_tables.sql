{#-
    The run records of `eventlake run` as a source: one NDJSON file per attempt under
    orchestration/pipeline_runs/ in the lake (written by orchestration/run_records.py).
    DuckDB: a view made at the start of every run, an empty typed relation before the first run.
    Athena and Redshift: no table. Only the local runner writes run records; on AWS the state
    machine's execution history is the run history, and the source and its staging model are
    disabled there (dbt_project.yml).
-#}

{#- The record's columns and their types, one list for every engine. -#}
{% macro run_record_columns() -%}
    {{ return([
        ('attempt_id', 'varchar'),
        ('run_id', 'varchar'),
        ('attempt', 'integer'),
        ('started_at', 'timestamp'),
        ('finished_at', 'timestamp'),
        ('outcome', 'varchar'),
        ('forced', 'boolean'),
        ('resumed_at_step', 'varchar'),
        ('failed_step', 'varchar'),
        ('error', 'varchar'),
        ('new_raw_objects', 'integer'),
        ('duration_seconds', 'double'),
        ('steps_run', 'integer'),
        ('steps_skipped', 'integer'),
        ('steps', 'varchar'),
        ('landed_at', 'timestamp'),
    ]) }}
{%- endmacro %}

{% macro create_run_relations() -%}
    {{ return(adapter.dispatch('create_run_relations', 'eventlake')()) }}
{%- endmacro %}

{% macro default__create_run_relations() -%}
    select 1 as run_relations_are_external_tables
{%- endmacro %}

{% macro duckdb__create_run_relations() -%}
    {%- if not execute -%}{{ return('select 1') }}{%- endif -%}
    {%- set statements = [] -%}
    {%- set columns = eventlake.run_record_columns() -%}
    {%- for node in eventlake.sources_with_meta('run_table') -%}
        {%- set glob = eventlake.lake_path('orchestration') ~ '/' ~ node.meta['run_table'] ~ '/*.json' -%}
        {%- if eventlake.lake_file_count(glob) > 0 -%}
            {%- set body -%}
                select
                    {%- for name, type in columns %}
                    {{ name }}{{ ',' if not loop.last }}
                    {%- endfor %}
                from read_json(
                    '{{ glob }}',
                    format = 'newline_delimited',
                    columns = {
                        {%- for name, type in columns %}
                        '{{ name }}': '{{ type }}'{{ ',' if not loop.last }}
                        {%- endfor %}
                    }
                )
            {%- endset -%}
        {%- else -%}
            {%- set body -%}
                select
                    {%- for name, type in columns %}
                    cast(null as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
                    {%- endfor %}
                where false
            {%- endset -%}
        {%- endif -%}
        {%- do statements.extend(eventlake.source_view_statements(node, body)) -%}
    {%- endfor -%}
    {{ return(statements | join(';\n')) }}
{%- endmacro %}
