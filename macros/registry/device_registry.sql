{#-
    The device registry outside the repository: `<data>/registry/rooms.csv` (written by
    `eventlake devices add|retire`, or edited by hand), read as the source device_registry.rooms.
    The registry the models use is the seed `rooms` (the demo's defaults) unioned with that file:
    for a room in both, each column the file gives wins and the seed fills the rest, so a file
    row can retire a demo room or give it a cadence without copying its other columns.

    File columns (header required, any order, missing columns read as empty):
      room_id, name, location, expected_interval_seconds, retired_at, updated_at
    A value that does not parse (a cadence that is not a whole number of seconds > 0, a time that
    is not 'YYYY-MM-DD HH:MM:SS' UTC) reads as empty: the cadence is then inferred, the room is
    not retired.

    DuckDB: a view over the file, made at the start of every run (an empty typed relation when
    there is no file). Athena and Redshift: an external CSV table over the `registry/rooms/`
    prefix beside the raw zone ($EVENTLAKE_REGISTRY_S3_URI), made by create_external_tables.
-#}

{% macro registry_sources() -%}
    {{ return(eventlake.sources_with_meta('registry_table')) }}
{%- endmacro %}

{#- The registry file's columns, in the order the CLI writes them. -#}
{% macro registry_columns() -%}
    {{ return(['room_id', 'name', 'location', 'expected_interval_seconds', 'retired_at', 'updated_at']) }}
{%- endmacro %}

{#- The typed select over a relation whose registry columns are all text. -#}
{% macro registry_typed_columns(relation_alias) -%}
    nullif(trim({{ relation_alias }}.room_id), '') as room_id,
    nullif(trim({{ relation_alias }}.name), '') as room_name,
    nullif(trim({{ relation_alias }}.location), '') as location,
    case
        -- a whole number of seconds from 1 to 999999999 (ltrim of the digits leaves nothing)
        when length(trim({{ relation_alias }}.expected_interval_seconds)) between 1 and 9
            and ltrim(trim({{ relation_alias }}.expected_interval_seconds), '0123456789') = ''
            and ltrim(trim({{ relation_alias }}.expected_interval_seconds), '0') <> ''
            then cast(trim({{ relation_alias }}.expected_interval_seconds) as bigint)
    end as expected_interval_seconds,
    {{ eventlake.try_parse_timestamp('trim(' ~ relation_alias ~ '.retired_at)') }} as retired_at,
    {{ relation_alias }}.landed_at
{%- endmacro %}

{% macro create_registry_relations() -%}
    {{ return(adapter.dispatch('create_registry_relations', 'eventlake')()) }}
{%- endmacro %}

{% macro default__create_registry_relations() -%}
    select 1 as registry_relations_are_external_tables
{%- endmacro %}

{% macro duckdb__create_registry_relations() -%}
    {%- if not execute -%}{{ return('select 1') }}{%- endif -%}
    {%- set statements = [] -%}
    {%- for node in eventlake.registry_sources() -%}
        {%- set path = env_var('EVENTLAKE_DATA_DIR', 'data') ~ '/registry/' ~ node.meta['registry_table'] ~ '.csv' -%}
        {%- set body -%}
            select
                {%- for column in eventlake.registry_columns() %}
                cast(null as varchar) as {{ column }},
                {%- endfor %}
                cast(null as timestamp) as landed_at
            where false
        {%- endset -%}
        {%- if eventlake.lake_file_count(path) > 0 -%}
            {#- A hand-edited file may miss a column or order them differently: read by header
                name, and give every missing column as null rather than failing the run. -#}
            {%- set reader = "read_csv('" ~ path ~ "', header = true, all_varchar = true, auto_detect = true)" -%}
            {%- set present = run_query('select * from ' ~ reader ~ ' limit 0').column_names | map('lower') | list -%}
            {%- if 'room_id' in present -%}
                {%- set body -%}
                    select
                        *,
                        {{ eventlake.try_parse_timestamp('trim(updated_at)') }} as landed_at
                    from (
                        select
                            {%- for column in eventlake.registry_columns() %}
                            {{ column if column in present else 'cast(null as varchar)' }} as {{ column }}{{ ',' if not loop.last }}
                            {%- endfor %}
                        from {{ reader }}
                    )
                {%- endset -%}
            {%- else -%}
                {%- do log('eventlake: ' ~ path ~ ' has no room_id column; the registry file is ignored', info=true) -%}
            {%- endif -%}
        {%- endif -%}
        {%- do statements.extend(eventlake.source_view_statements(node, body)) -%}
    {%- endfor -%}
    {{ return(statements | join(';\n')) }}
{%- endmacro %}


{#- Operator DDL (create_external_tables): the registry CSV as an external table. -#}
{% macro registry_external_table_statements() -%}
    {%- set statements = [] -%}
    {%- for node in eventlake.registry_sources() -%}
        {%- do statements.extend(adapter.dispatch('registry_external_table_ddl', 'eventlake')(node)) -%}
    {%- endfor -%}
    {{ return(statements) }}
{%- endmacro %}

{#- Default: the sibling `registry/` of the raw zone's prefix (s3://lake/raw/ -> s3://lake/registry/). -#}
{% macro registry_location(node) -%}
    {%- set raw_parent = env_var('EVENTLAKE_RAW_S3_URI', 's3://eventlake-lake/raw').rstrip('/').rsplit('/', 1)[0] -%}
    {%- set root = env_var('EVENTLAKE_REGISTRY_S3_URI', raw_parent ~ '/registry').rstrip('/') -%}
    {{ return(root ~ '/' ~ node.meta['registry_table'] ~ '/') }}
{%- endmacro %}

{% macro default__registry_external_table_ddl(node) -%}
    {{ exceptions.raise_compiler_error(
        'create_external_tables is for athena and redshift; on duckdb the registry view is made by every run'
    ) }}
{%- endmacro %}

{#- The source relation on every engine: the file's text columns plus landed_at (updated_at typed). -#}
{% macro registry_view_ddl(node, file_table, options='') -%}
create or replace view {{ eventlake.quoted_relation(node.schema, node.identifier) }} as
select
    {%- for column in eventlake.registry_columns() %}
    {{ column }},
    {%- endfor %}
    {{ eventlake.try_parse_timestamp('trim(updated_at)') }} as landed_at
from {{ file_table }}
{{ options }}
{%- endmacro %}

{% macro athena__registry_external_table_ddl(node) -%}
    {%- set columns = [] -%}
    {%- for column in eventlake.registry_columns() -%}{%- do columns.append(column ~ ' string') -%}{%- endfor -%}
    {%- set ddl -%}
create external table if not exists {{ eventlake.quoted_relation(node.schema, node.identifier ~ '_csv', hive=true) }} (
    {{ columns | join(',\n    ') }}
)
row format serde 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
stored as textfile
location '{{ eventlake.registry_location(node) }}'
tblproperties ('skip.header.line.count' = '1')
    {%- endset -%}
    {{ return([ddl, eventlake.registry_view_ddl(node, eventlake.quoted_relation(node.schema, node.identifier ~ '_csv'))]) }}
{%- endmacro %}

{% macro redshift__registry_external_table_ddl(node) -%}
    {%- set spectrum = eventlake.spectrum_schema() -%}
    {%- set columns = [] -%}
    {%- for column in eventlake.registry_columns() -%}{%- do columns.append(column ~ ' varchar(256)') -%}{%- endfor -%}
    {%- set table_ddl -%}
create external table {{ spectrum }}.registry_{{ node.identifier }} (
    {{ columns | join(',\n    ') }}
)
row format serde 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
stored as textfile
location '{{ eventlake.registry_location(node) }}'
table properties ('skip.header.line.count' = '1')
    {%- endset -%}
    {{ return([table_ddl, eventlake.registry_view_ddl(node, spectrum ~ '.registry_' ~ node.identifier, 'with no schema binding')]) }}
{%- endmacro %}


{#-
    The rooms registered now: the seed's rows and the registry file's, one row per room_id (the
    file's values win column by column). Staging models (which may read seeds and sources only)
    and stg_device_registry__rooms use this one definition.
-#}
{% macro registered_rooms() -%}
    select
        coalesce(listed.room_id, seeded.room_id) as room_id,
        listed.room_name,
        listed.location,
        seeded.building,
        seeded.floor,
        seeded.sensor_model,
        seeded.installed_on,
        listed.expected_interval_seconds,
        listed.retired_at,
        listed.landed_at,
        case
            when listed.room_id is null then 'seed'
            when seeded.room_id is null then 'registry_file'
            else 'seed_and_registry_file'
        end as registered_in
    from {{ ref('rooms') }} as seeded
    full outer join (
        -- one row per room even if a hand edit repeats an id: the greatest value of each column
        select
            typed.room_id,
            max(typed.room_name) as room_name,
            max(typed.location) as location,
            max(typed.expected_interval_seconds) as expected_interval_seconds,
            max(typed.retired_at) as retired_at,
            max(typed.landed_at) as landed_at
        from (
            select {{ eventlake.registry_typed_columns('registry_file') }}
            from {{ source('device_registry', 'rooms_file') }} as registry_file
        ) as typed
        where typed.room_id is not null
        group by typed.room_id
    ) as listed
        on seeded.room_id = listed.room_id
{%- endmacro %}
