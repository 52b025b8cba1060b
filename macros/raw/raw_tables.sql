{#-
    Raw feeds are read as lines of text so a malformed line is a row, not a reader error, and
    an object that cannot be read as text is one row with a read_error, not a failed query
    (eventlake.raw_object_lines). A feed whose lines can be long (one daily FeatureCollection
    per line) sets meta.raw_max_line_bytes on its source (default var raw_default_max_line_bytes);
    a longer line is quarantined as line_too_long.
    Every engine exposes each feed with the same three columns:
      line         the raw line (NULL for an empty line)
      source_file  the object it came from (DuckDB: raw/<feed>/.../<name>, its key under the
                   lake root, eventlake.duckdb_lake_key; Athena/Redshift: its S3 URI)
      landed_at    the processing time Firehose wrote into the object name (UTC)
    DuckDB adds read_error (eventlake.raw_read_error gives it on every engine).
    DuckDB: views over the local lake, made at the start of every run (cheap, always current).
    Athena and Redshift: external tables over S3, made once by an operator with
    `dbt run-operation create_external_tables` (DDL on a shared catalog is not an analyst's job).
-#}

{% macro raw_feed_sources() -%}
    {{ return(eventlake.sources_with_meta('raw_feed')) }}
{%- endmacro %}


{#- A raw feed's longest accepted line, in bytes (meta raw_max_line_bytes of its source). -#}
{% macro raw_max_line_bytes(node) -%}
    {{ return(node.meta.get('raw_max_line_bytes') or var('raw_default_max_line_bytes')) }}
{%- endmacro %}

{#- The raw lines' columns with no row: a feed with no object yet. -#}
{% macro no_raw_lines() -%}
    select
        cast(null as varchar) as line,
        cast(null as varchar) as source_file,
        cast(null as timestamp) as landed_at,
        cast(null as varchar) as read_error
    where false
{%- endmacro %}


{% macro create_raw_relations() -%}
    {{ return(adapter.dispatch('create_raw_relations', 'eventlake')()) }}
{%- endmacro %}

{% macro default__create_raw_relations() -%}
    select 1 as raw_relations_are_external_tables
{%- endmacro %}

{#- Redshift: the line tables are external, but Spectrum sees only registered partitions, so a
    run first registers the hours unstaged_objects will list (see register_raw_partitions). -#}
{% macro redshift__create_raw_relations() -%}
    {%- if execute and eventlake.offline_compile_mode() is none -%}
        {%- do eventlake.register_raw_partitions() -%}
    {%- endif -%}
    select 1 as raw_partitions_registered
{%- endmacro %}

{% macro duckdb__create_raw_relations() -%}
    {%- if not execute -%}{{ return('select 1') }}{%- endif -%}
    {%- set statements = [] -%}
    {%- for node in eventlake.raw_feed_sources() -%}
        {%- set glob = eventlake.lake_path('raw') ~ '/' ~ node.meta['raw_feed'] ~ '/*/*/*/*/*' -%}
        {%- if eventlake.lake_file_count(glob) > 0 -%}
            {%- set body = eventlake.raw_object_lines(glob, eventlake.raw_max_line_bytes(node)) -%}
        {%- else -%}
            {%- set body = eventlake.no_raw_lines() -%}
        {%- endif -%}
        {%- do statements.extend(eventlake.source_view_statements(node, body)) -%}
    {%- endfor -%}
    {{ return(statements | join(';\n')) }}
{%- endmacro %}


{#- Operator-run DDL for the cloud engines. Preview it without a connection:
    dbt compile --target athena --no-populate-cache --inline "{{ eventlake.external_tables_ddl() }}"
    Each source's schema (a Glue database on Athena) is created first, since nothing else makes it. -#}
{% macro create_external_tables() %}
    {%- for statement in eventlake.external_table_statements() -%}
        {%- do log('eventlake: ' ~ statement.strip().split('\n')[0], info=true) -%}
        {%- do run_query(statement) -%}
    {%- endfor -%}
{% endmacro %}

{% macro external_table_statements() -%}
    {%- set statements = [] -%}
    {%- set schemas = [] -%}
    {%- for node in eventlake.raw_feed_sources() + eventlake.ml_score_sources() + eventlake.registry_sources() -%}
        {%- if node.schema not in schemas -%}{%- do schemas.append(node.schema) -%}{%- endif -%}
    {%- endfor -%}
    {%- for schema in schemas -%}
        {%- do statements.append(eventlake.create_schema_ddl(schema)) -%}
    {%- endfor -%}
    {%- for node in eventlake.raw_feed_sources() -%}
        {%- do statements.extend(adapter.dispatch('external_table_ddl', 'eventlake')(node)) -%}
    {%- endfor -%}
    {%- do statements.extend(eventlake.ml_external_table_statements()) -%}
    {%- do statements.extend(eventlake.registry_external_table_statements()) -%}
    {{ return(statements) }}
{%- endmacro %}

{% macro external_tables_ddl() -%}
    {{ eventlake.external_table_statements() | join(';\n\n') }};
{%- endmacro %}


{#- CREATE SCHEMA for a source's schema, quoted (RAW is a reserved word on Redshift). Athena's
    DDL is Hive's: a Glue database, named in backticks. -#}
{% macro create_schema_ddl(schema) -%}
    {{ return(adapter.dispatch('create_schema_ddl', 'eventlake')(schema)) }}
{%- endmacro %}

{% macro default__create_schema_ddl(schema) -%}
    {{ return('create schema if not exists "' ~ schema ~ '"') }}
{%- endmacro %}

{% macro athena__create_schema_ddl(schema) -%}
    {{ return('create database if not exists `' ~ schema ~ '`') }}
{%- endmacro %}


{#- schema.identifier with both names quoted: "s"."t" (SQL, Trino views), or `s`.`t` for
    Athena's Hive DDL (CREATE EXTERNAL TABLE). -#}
{% macro quoted_relation(schema, identifier, hive=false) -%}
    {%- set quote = '`' if hive else '"' -%}
    {{ return(quote ~ schema ~ quote ~ '.' ~ quote ~ identifier ~ quote) }}
{%- endmacro %}

{% macro default__external_table_ddl(node) -%}
    {{ exceptions.raise_compiler_error(
        'create_external_tables is for athena and redshift; on duckdb the raw views are made by every run'
    ) }}
{%- endmacro %}

{#- The view every engine's source points at: the external line table plus the object path. -#}
{% macro raw_lines_view_ddl(node, lines_table, options='', partition_column=none) -%}
create or replace view {{ eventlake.quoted_relation(node.schema, node.identifier) }} as
select
    nullif(line, '') as line,
    {%- if partition_column %}
    {{ partition_column }},
    {%- endif %}
    "$path" as source_file,
    {{ eventlake.landed_at_from_object_name('"$path"') }} as landed_at
from {{ lines_table }}
{{ options }}
{%- endmacro %}

{#- Athena: one string column per line (no delimiter occurs in JSON text), partition projection on
    the processing-hour prefix so new prefixes are queryable without MSCK REPAIR or a crawler. -#}
{% macro athena__external_table_ddl(node) -%}
    {%- set location = env_var('EVENTLAKE_RAW_S3_URI').rstrip('/') ~ '/' ~ node.meta['raw_feed'] ~ '/' -%}
    {%- set lines_table = node.identifier ~ '_lines' -%}
    {%- set table_ddl -%}
create external table if not exists {{ eventlake.quoted_relation(node.schema, lines_table, hive=true) }} (
    line string
)
partitioned by (landed_hour string)
row format delimited fields terminated by '\037'
stored as textfile
location '{{ location }}'
tblproperties (
    'projection.enabled' = 'true',
    'projection.landed_hour.type' = 'date',
    'projection.landed_hour.format' = 'yyyy/MM/dd/HH',
    'projection.landed_hour.interval' = '1',
    'projection.landed_hour.interval.unit' = 'HOURS',
    'projection.landed_hour.range' = '2020/01/01/00,NOW',
    'storage.location.template' = '{{ location }}${landed_hour}/'
)
    {%- endset -%}
    {{ return([table_ddl, eventlake.raw_lines_view_ddl(
        node, eventlake.quoted_relation(node.schema, lines_table), partition_column='landed_hour'
    )]) }}
{%- endmacro %}

{#- Redshift: a Spectrum external schema over the Glue catalog; the line table is partitioned
    by the processing-hour prefix like Athena's, with the partitions registered by
    register_raw_partitions (Spectrum has no projection); the view adds the object path. -#}
{% macro redshift__external_table_ddl(node) -%}
    {%- set spectrum = eventlake.spectrum_schema() -%}
    {%- set schema_ddl -%}
create external schema if not exists {{ spectrum }}
from data catalog database '{{ env_var('EVENTLAKE_GLUE_RAW_DATABASE', 'eventlake_raw') }}'
iam_role '{{ env_var('EVENTLAKE_REDSHIFT_SPECTRUM_ROLE_ARN') }}'
create external database if not exists
    {%- endset -%}
    {%- set table_ddl -%}
create external table {{ spectrum }}.{{ node.identifier }}_lines (
    line varchar(65535)
)
partitioned by (landed_hour varchar(13))
row format delimited fields terminated by '\037'
stored as textfile
location '{{ eventlake.raw_feed_location(node) }}'
    {%- endset -%}
    {%- set view_ddl = eventlake.raw_lines_view_ddl(
        node, spectrum ~ '.' ~ node.identifier ~ '_lines', 'with no schema binding', partition_column='landed_hour'
    ) -%}
    {{ return([schema_ddl, table_ddl, view_ddl]) }}
{%- endmacro %}

{% macro spectrum_schema() -%}
    {{ return(env_var('EVENTLAKE_SPECTRUM_SCHEMA', 'eventlake_spectrum')) }}
{%- endmacro %}

{% macro raw_feed_location(node) -%}
    {{ return(env_var('EVENTLAKE_RAW_S3_URI').rstrip('/') ~ '/' ~ node.meta['raw_feed'] ~ '/') }}
{%- endmacro %}


{#-
    Register the processing-hour partitions of the raw line tables where the engine needs it:
    Redshift Spectrum (Athena projects them). `since` ('YYYY-MM-DD' or 'YYYY-MM-DD HH', UTC)
    defaults to the last var raw_relist_hours hours, the window unstaged_objects lists; an
    hour with no objects is an empty partition. Idempotent (ADD IF NOT EXISTS). On Redshift every
    run registers that window at its start (create_raw_relations); a backfill runs
    dbt run-operation register_raw_partitions --args '{since: "2026-01-01"}'
-#}
{% macro register_raw_partitions(since=none) %}
    {%- for statement in eventlake.raw_partition_statements(since) -%}
        {%- do log('eventlake: ' ~ statement.strip().split('\n')[0], info=true) -%}
        {%- do run_query(statement) -%}
    {%- endfor -%}
{% endmacro %}

{#- The processing hours from `since` (or raw_relist_hours ago) to `until` (default now), as
    'YYYY/MM/DD/HH' prefixes. -#}
{% macro landed_hours(since=none, until=none) -%}
    {%- set datetime = modules.datetime -%}
    {%- set until = until or datetime.datetime.utcnow() -%}
    {%- if since -%}
        {%- set start = datetime.datetime.strptime(since, '%Y-%m-%d %H' if ' ' in since else '%Y-%m-%d') -%}
    {%- else -%}
        {%- set start = until - datetime.timedelta(hours=var('raw_relist_hours', 48)) -%}
    {%- endif -%}
    {%- set hours = [] -%}
    {%- set at = namespace(value=start.replace(minute=0, second=0, microsecond=0)) -%}
    {%- for _ in range(((until - at.value).total_seconds() // 3600) | int + 1) -%}
        {%- do hours.append(at.value.strftime('%Y/%m/%d/%H')) -%}
        {%- set at.value = at.value + datetime.timedelta(hours=1) -%}
    {%- endfor -%}
    {{ return(hours) }}
{%- endmacro %}

{% macro raw_partition_statements(since=none) -%}
    {{ return(adapter.dispatch('raw_partition_statements', 'eventlake')(since)) }}
{%- endmacro %}

{% macro default__raw_partition_statements(since) -%}
    {{ return([]) }}
{%- endmacro %}

{#- ALTER TABLE statements per feed with at most 100 hours each: Spectrum takes several PARTITION
    clauses at once, and a backfill of months must not become one statement of thousands. -#}
{% macro redshift__raw_partition_statements(since) -%}
    {%- set statements = [] -%}
    {%- set hours = eventlake.landed_hours(since) -%}
    {%- for node in eventlake.raw_feed_sources() -%}
        {%- set location = eventlake.raw_feed_location(node) -%}
        {%- for chunk in hours | batch(100) -%}
            {%- set statement -%}
alter table {{ eventlake.spectrum_schema() }}.{{ node.identifier }}_lines add if not exists
{%- for hour in chunk %}
partition (landed_hour = '{{ hour }}') location '{{ location }}{{ hour }}/'
{%- endfor %}
            {%- endset -%}
            {%- do statements.append(statement) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(statements) }}
{%- endmacro %}
