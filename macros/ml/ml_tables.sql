{#-
    The ML zone's anomaly scores as a source: Hive-partitioned Parquet written by `eventlake ml score`
    under ml/anomaly_scores/room_id=<r>/reading_date=<d>/part-0.parquet (partition columns in the path).
    DuckDB: a view made at the start of every run, an empty typed relation while nothing is scored.
    Athena and Redshift: external Parquet tables, made with the raw feeds' tables by
    `dbt run-operation create_external_tables`.
-#}

{% macro ml_score_sources() -%}
    {{ return(eventlake.sources_with_meta('ml_table')) }}
{%- endmacro %}

{#- Columns of the score files, then the partition columns; one list for every engine. -#}
{% macro ml_score_columns() -%}
    {{ return([
        ('reading_id', 'varchar'),
        ('reading_at', 'timestamp'),
        ('temperature_c', 'double'),
        ('anomaly_score', 'double'),
        ('score_threshold', 'double'),
        ('is_anomaly', 'boolean'),
        ('model_version', 'varchar'),
        ('trained_at', 'timestamp'),
        ('engine', 'varchar'),
        ('landed_at', 'timestamp'),
    ]) }}
{%- endmacro %}

{% macro ml_partition_columns() -%}
    {{ return([('room_id', 'varchar'), ('reading_date', 'date')]) }}
{%- endmacro %}

{#- "name type, ..." of the score columns, then of the partition columns, in an engine's types. -#}
{% macro ml_columns_ddl(types) -%}
    {%- set ddl = {} -%}
    {%- for part, columns in [('columns', eventlake.ml_score_columns()), ('partitions', eventlake.ml_partition_columns())] -%}
        {%- set rendered = [] -%}
        {%- for name, type in columns -%}{%- do rendered.append(name ~ ' ' ~ types[type]) -%}{%- endfor -%}
        {%- do ddl.update({part: rendered | join(',\n    ')}) -%}
    {%- endfor -%}
    {{ return(ddl) }}
{%- endmacro %}

{% macro create_ml_relations() -%}
    {{ return(adapter.dispatch('create_ml_relations', 'eventlake')()) }}
{%- endmacro %}

{% macro default__create_ml_relations() -%}
    select 1 as ml_relations_are_external_tables
{%- endmacro %}

{% macro duckdb__create_ml_relations() -%}
    {%- if not execute -%}{{ return('select 1') }}{%- endif -%}
    {%- set statements = [] -%}
    {%- set columns = eventlake.ml_score_columns() + eventlake.ml_partition_columns() -%}
    {%- for node in eventlake.ml_score_sources() -%}
        {%- set glob = eventlake.lake_path('ml') ~ '/' ~ node.meta['ml_table'] ~ '/room_id=*/reading_date=*/*.parquet' -%}
        {%- if eventlake.lake_file_count(glob) > 0 -%}
            {%- set body -%}
                select
                    {%- for name, type in columns %}
                    cast({{ name }} as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
                    {%- endfor %}
                from read_parquet(
                    '{{ glob }}',
                    hive_partitioning = true,
                    hive_types = {'room_id': 'VARCHAR', 'reading_date': 'DATE'}
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


{% macro ml_external_table_statements() -%}
    {%- set statements = [] -%}
    {%- for node in eventlake.ml_score_sources() -%}
        {%- do statements.extend(adapter.dispatch('ml_external_table_ddl', 'eventlake')(node)) -%}
    {%- endfor -%}
    {{ return(statements) }}
{%- endmacro %}

{% macro default__ml_external_table_ddl(node) -%}
    {{ exceptions.raise_compiler_error(
        'create_external_tables is for athena and redshift; on duckdb the ML views are made by every run'
    ) }}
{%- endmacro %}

{#- The external Parquet table over the ML zone's folders, in an engine's column types. -#}
{% macro ml_parquet_table_ddl(create, node, types) -%}
    {%- set ddl = eventlake.ml_columns_ddl(types) -%}
    {%- set location = env_var('EVENTLAKE_ML_S3_URI').rstrip('/') ~ '/' ~ node.meta['ml_table'] ~ '/' -%}
{{ create }} (
    {{ ddl['columns'] }}
)
partitioned by (
    {{ ddl['partitions'] }}
)
stored as parquet
location '{{ location }}'
{%- endmacro %}

{#- Athena: Parquet partitioned like the lake folders. Partition projection types every
    partition key, and room ids are open-ended, so the scoring step registers what it wrote with
    `ALTER TABLE ... ADD IF NOT EXISTS PARTITION` (or MSCK REPAIR TABLE). -#}
{% macro athena__ml_external_table_ddl(node) -%}
    {%- set types = {'varchar': 'string', 'timestamp': 'timestamp', 'double': 'double', 'boolean': 'boolean', 'date': 'date'} -%}
    {{ return([eventlake.ml_parquet_table_ddl(
        'create external table if not exists ' ~ eventlake.quoted_relation(node.schema, node.identifier, hive=true),
        node, types
    )]) }}
{%- endmacro %}

{#- Redshift: a Spectrum external table in the same external schema as the raw feeds. -#}
{% macro redshift__ml_external_table_ddl(node) -%}
    {%- set spectrum = eventlake.spectrum_schema() -%}
    {%- set types = {'varchar': 'varchar(256)', 'timestamp': 'timestamp', 'double': 'double precision', 'boolean': 'boolean', 'date': 'date'} -%}
    {%- set view_ddl -%}
create or replace view {{ eventlake.quoted_relation(node.schema, node.identifier) }} as
select * from {{ spectrum }}.{{ node.identifier }}
with no schema binding
    {%- endset -%}
    {{ return([
        eventlake.ml_parquet_table_ddl('create external table ' ~ spectrum ~ '.' ~ node.identifier, node, types),
        view_ddl,
    ]) }}
{%- endmacro %}
