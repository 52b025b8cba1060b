{#-
    Raw feeds are read as lines of text so a malformed line is a row, not a reader error, and
    an object that cannot be read as text is one row with a read_error, not a failed query
    (eventlake.raw_object_lines). A feed whose lines can be long (one daily FeatureCollection
    per line) sets meta.raw_max_line_bytes on its source (default var raw_default_max_line_bytes);
    a longer line is quarantined as line_too_long.
    Every engine exposes each feed with the same three columns:
      line         the raw line (NULL for an empty line)
      source_file  the object it came from
      landed_at    the processing time Firehose wrote into the object name (UTC)
    DuckDB adds read_error (eventlake.raw_read_error gives it on every engine).
    DuckDB: views over the local lake, made at the start of every run (cheap, always current).
    Athena and Redshift: external tables over S3, made once by an operator with
    `dbt run-operation create_external_tables` (DDL on a shared catalog is not an analyst's job).
-#}

{% macro raw_feed_sources() -%}
    {{ return(eventlake.sources_with_meta('raw_feed')) }}
{%- endmacro %}


{% macro create_raw_relations() -%}
    {{ return(adapter.dispatch('create_raw_relations', 'eventlake')()) }}
{%- endmacro %}

{% macro default__create_raw_relations() -%}
    select 1 as raw_relations_are_external_tables
{%- endmacro %}

{% macro duckdb__create_raw_relations() -%}
    {%- if not execute -%}{{ return('select 1') }}{%- endif -%}
    {%- set statements = [] -%}
    {%- for node in eventlake.raw_feed_sources() -%}
        {%- set glob = eventlake.lake_path('raw') ~ '/' ~ node.meta['raw_feed'] ~ '/*/*/*/*/*' -%}
        {%- if eventlake.lake_file_count(glob) > 0 -%}
            {%- set body = eventlake.raw_object_lines(
                glob, node.meta.get('raw_max_line_bytes') or var('raw_default_max_line_bytes')
            ) -%}
        {%- else -%}
            {%- set body -%}
                select
                    cast(null as varchar) as line,
                    cast(null as varchar) as source_file,
                    cast(null as timestamp) as landed_at,
                    cast(null as varchar) as read_error
                where false
            {%- endset -%}
        {%- endif -%}
        {%- do statements.extend(eventlake.source_view_statements(node, body)) -%}
    {%- endfor -%}
    {{ return(statements | join(';\n')) }}
{%- endmacro %}


{#- Operator-run DDL for the cloud engines. Preview it without a connection:
    dbt compile --target athena --no-populate-cache --inline "{{ eventlake.external_tables_ddl() }}" -#}
{% macro create_external_tables() %}
    {%- for statement in eventlake.external_table_statements() -%}
        {%- do log('eventlake: ' ~ statement.strip().split('\n')[0], info=true) -%}
        {%- do run_query(statement) -%}
    {%- endfor -%}
{% endmacro %}

{% macro external_table_statements() -%}
    {%- set statements = [] -%}
    {%- for node in eventlake.raw_feed_sources() -%}
        {%- do statements.extend(adapter.dispatch('external_table_ddl', 'eventlake')(node)) -%}
    {%- endfor -%}
    {%- do statements.extend(eventlake.ml_external_table_statements()) -%}
    {{ return(statements) }}
{%- endmacro %}

{% macro external_tables_ddl() -%}
    {{ eventlake.external_table_statements() | join(';\n\n') }};
{%- endmacro %}

{% macro default__external_table_ddl(node) -%}
    {{ exceptions.raise_compiler_error(
        'create_external_tables is for athena and redshift; on duckdb the raw views are made by every run'
    ) }}
{%- endmacro %}

{#- The view every engine's source points at: the external line table plus the object path. -#}
{% macro raw_lines_view_ddl(node, lines_table, options='', partition_column=none) -%}
create or replace view {{ node.schema }}.{{ node.identifier }} as
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
    {%- set lines_table = node.schema ~ '.' ~ node.identifier ~ '_lines' -%}
    {%- set table_ddl -%}
create external table if not exists {{ lines_table }} (
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
    {{ return([table_ddl, eventlake.raw_lines_view_ddl(node, lines_table, partition_column='landed_hour')]) }}
{%- endmacro %}

{#- Redshift: a Spectrum external schema over the Glue catalog; the view adds the object path. -#}
{% macro redshift__external_table_ddl(node) -%}
    {%- set location = env_var('EVENTLAKE_RAW_S3_URI').rstrip('/') ~ '/' ~ node.meta['raw_feed'] ~ '/' -%}
    {%- set spectrum = env_var('EVENTLAKE_SPECTRUM_SCHEMA', 'eventlake_spectrum') -%}
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
row format delimited fields terminated by '\037'
stored as textfile
location '{{ location }}'
    {%- endset -%}
    {%- set view_ddl = eventlake.raw_lines_view_ddl(
        node, spectrum ~ '.' ~ node.identifier ~ '_lines', 'with no schema binding'
    ) -%}
    {{ return([schema_ddl, table_ddl, view_ddl]) }}
{%- endmacro %}
