{#-
    The device registry outside the repository: one CSV per kind of device in `<data>/registry/`
    (written by `eventlake devices add|retire`, or edited by hand), each read as a source of
    device_registry whose meta `registry_table` names the file:
      rooms.csv             -> device_registry.rooms_file              (temperature rooms)
      traffic_locations.csv -> device_registry.traffic_locations_file  (traffic detectors)
    The registry the models use is the kind's seed (the demo's defaults: `rooms`,
    `traffic_locations`) unioned with its file: for a device in both, each column the file gives
    wins and the seed fills the rest, so a file row can retire a demo device or change one value
    without copying its other columns.

    File columns (header required, any order, missing columns read as empty): registry_columns.
    A value that does not parse (a cadence or lane that is not a whole number above 0, a
    coordinate out of range, a time that is not 'YYYY-MM-DD HH:MM:SS' UTC) reads as empty: the
    seed's value (or nothing) is used, a device is not retired.

    DuckDB: a view over each file, made at the start of every run (an empty typed relation when
    there is no file). Athena and Redshift: an external CSV table over the `registry/<table>/`
    prefix beside the raw zone ($EVENTLAKE_REGISTRY_S3_URI), made by create_external_tables.
-#}

{% macro registry_sources() -%}
    {{ return(eventlake.sources_with_meta('registry_table')) }}
{%- endmacro %}

{#-
    A registry file's columns, in the order the CLI writes them (orchestration/devices.py: KINDS);
    the first is the device's id. `registry_table` is the source's meta registry_table.
-#}
{% macro registry_columns(registry_table) -%}
    {%- set columns = {
        'rooms': ['room_id', 'name', 'location'],
        'traffic_locations': ['location_id', 'segment_id', 'road', 'direction', 'lane', 'latitude', 'longitude'],
    } -%}
    {%- if registry_table not in columns -%}
        {{ exceptions.raise_compiler_error('no registry columns for registry_table ' ~ registry_table) }}
    {%- endif -%}
    {{ return(columns[registry_table] + ['expected_interval_seconds', 'retired_at', 'updated_at']) }}
{%- endmacro %}

{#- A text value as a whole number from 1 to 10^max_digits - 1, else null (never a cast error):
    ltrim of the digits leaves nothing, ltrim of the zeros leaves something. -#}
{% macro registry_whole_number(text_expr, max_digits, type='bigint') -%}
    case
        when length(trim({{ text_expr }})) between 1 and {{ max_digits }}
            and ltrim(trim({{ text_expr }}), '0123456789') = ''
            and ltrim(trim({{ text_expr }}), '0') <> ''
            then cast(trim({{ text_expr }}) as {{ type }})
    end
{%- endmacro %}

{#- A text value as a decimal(8,5) from -limit to limit (a coordinate), else null: an optional
    minus, at most 3 integer digits, at most one point, digits only. -#}
{% macro registry_coordinate(text_expr, limit) -%}
    {%- set unsigned = "case when trim(" ~ text_expr ~ ") like '-%' then substr(trim(" ~ text_expr ~ "), 2) else trim(" ~ text_expr ~ ") end" -%}
    case
        when length({{ unsigned }}) between 1 and 9
            and ltrim(replace({{ unsigned }}, '.', ''), '0123456789') = ''
            and replace({{ unsigned }}, '.', '') <> ''
            and length({{ unsigned }}) - length(replace({{ unsigned }}, '.', '')) <= 1
            and (
                (strpos({{ unsigned }}, '.') = 0 and length({{ unsigned }}) <= 3)
                or strpos({{ unsigned }}, '.') between 2 and 4
            )
            -- cast only what has the shape (a nested case: AND need not short-circuit)
            then case
                when abs(cast(trim({{ text_expr }}) as decimal(9, 5))) <= {{ limit }}
                    then cast(trim({{ text_expr }}) as decimal(8, 5))
            end
    end
{%- endmacro %}

{#- The columns every registry file shares, typed (relation_alias: the file's text columns). -#}
{% macro registry_common_columns(relation_alias) -%}
    {{ eventlake.registry_whole_number(relation_alias ~ '.expected_interval_seconds', 9) }} as expected_interval_seconds,
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
        {%- set columns = eventlake.registry_columns(node.meta['registry_table']) -%}
        {%- set body -%}
            select
                {%- for column in columns %}
                cast(null as varchar) as {{ column }},
                {%- endfor %}
                cast(null as timestamp) as landed_at
            where false
        {%- endset -%}
        {%- if eventlake.lake_file_count(path) > 0 -%}
            {#- A hand-edited file may miss a column or order them differently: read by header
                name, and give every missing column as null rather than failing the run. -#}
            {#- ignore_errors: a row that is not UTF-8 (a spreadsheet's legacy encoding) is skipped
                instead of failing the run (its device reads as unregistered); `eventlake devices
                list` names the file's problem. -#}
            {%- set reader = "read_csv('" ~ path ~ "', header = true, all_varchar = true, auto_detect = true, ignore_errors = true)" -%}
            {%- set present = run_query('select * from ' ~ reader ~ ' limit 0').column_names | map('lower') | list -%}
            {%- if columns[0] in present -%}
                {%- set body -%}
                    select
                        *,
                        {{ eventlake.try_parse_timestamp('trim(updated_at)') }} as landed_at
                    from (
                        select
                            {%- for column in columns %}
                            {{ column if column in present else 'cast(null as varchar)' }} as {{ column }}{{ ',' if not loop.last }}
                            {%- endfor %}
                        from {{ reader }}
                        -- every column read by every query, so a row ignore_errors skips (bytes
                        -- that are not UTF-8) is skipped whichever columns a model selects
                        where concat_ws(',', {{ columns | select('in', present) | join(', ') }}) is not null
                    )
                {%- endset -%}
            {%- else -%}
                {%- do log('eventlake: ' ~ path ~ ' has no ' ~ columns[0] ~ ' column; the registry file is ignored', info=true) -%}
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
    {%- for column in eventlake.registry_columns(node.meta['registry_table']) %}
    {{ column }},
    {%- endfor %}
    {{ eventlake.try_parse_timestamp('trim(updated_at)') }} as landed_at
from {{ file_table }}
{{ options }}
{%- endmacro %}

{% macro athena__registry_external_table_ddl(node) -%}
    {%- set columns = [] -%}
    {%- for column in eventlake.registry_columns(node.meta['registry_table']) -%}{%- do columns.append('`' ~ column ~ '` string') -%}{%- endfor -%}
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
    {%- for column in eventlake.registry_columns(node.meta['registry_table']) -%}{%- do columns.append(column ~ ' varchar(256)') -%}{%- endfor -%}
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
        -- sqlfluff's athena dialect reads the column as the function floor()
        seeded.floor,  -- noqa: PRS
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
            max(typed.location) as location,  -- noqa: RF04
            max(typed.expected_interval_seconds) as expected_interval_seconds,
            max(typed.retired_at) as retired_at,
            max(typed.landed_at) as landed_at
        from (
            select
                nullif(trim(registry_file.room_id), '') as room_id,
                nullif(trim(registry_file.name), '') as room_name,
                nullif(trim(registry_file.location), '') as location,  -- noqa: RF04
                {{ eventlake.registry_common_columns('registry_file') }}
            from {{ source('device_registry', 'rooms_file') }} as registry_file
        ) as typed
        where typed.room_id is not null
        group by typed.room_id
    ) as listed
        on seeded.room_id = listed.room_id
{%- endmacro %}


{#-
    The traffic detectors (measurement locations) registered now: the seed `traffic_locations`
    and the registry file's rows, one row per location_id (the file's values win column by
    column). A file's segment_id counts only when it is in the seed `traffic_segments` (road and
    direction then default to the segment's); a location left without a known segment is not
    registered (its measurements are quarantined as unknown_location). The traffic staging check
    and stg_device_registry__traffic_locations use this one definition.
-#}
{% macro registered_traffic_locations() -%}
    select
        coalesce(listed.location_id, seeded.location_id) as location_id,
        coalesce(segments.segment_id, seeded.segment_id) as segment_id,
        coalesce(listed.road, segments.road, seeded.road) as road,
        coalesce(listed.direction, segments.direction, seeded.direction) as direction,
        coalesce(listed.lane, seeded.lane) as lane,
        coalesce(listed.latitude, seeded.latitude) as latitude,
        coalesce(listed.longitude, seeded.longitude) as longitude,
        listed.expected_interval_seconds,
        listed.retired_at,
        listed.landed_at,
        case
            when listed.location_id is null then 'seed'
            when seeded.location_id is null then 'registry_file'
            else 'seed_and_registry_file'
        end as registered_in
    from {{ ref('traffic_locations') }} as seeded
    full outer join (
        -- one row per location even if a hand edit repeats an id: the greatest value of each column
        select
            typed.location_id,
            max(typed.segment_id) as segment_id,
            max(typed.road) as road,
            max(typed.direction) as direction,
            max(typed.lane) as lane,
            max(typed.latitude) as latitude,
            max(typed.longitude) as longitude,
            max(typed.expected_interval_seconds) as expected_interval_seconds,
            max(typed.retired_at) as retired_at,
            max(typed.landed_at) as landed_at
        from (
            select
                -- the feed's ids are whole numbers from 1 to 2^53 (15 digits stay below it)
                {{ eventlake.registry_whole_number('registry_file.location_id', 15) }} as location_id,
                nullif(trim(registry_file.segment_id), '') as segment_id,
                nullif(trim(registry_file.road), '') as road,
                nullif(trim(registry_file.direction), '') as direction,
                {{ eventlake.registry_whole_number('registry_file.lane', 2, 'integer') }} as lane,
                {{ eventlake.registry_coordinate('registry_file.latitude', 90) }} as latitude,
                {{ eventlake.registry_coordinate('registry_file.longitude', 180) }} as longitude,
                {{ eventlake.registry_common_columns('registry_file') }}
            from {{ source('device_registry', 'traffic_locations_file') }} as registry_file
        ) as typed
        where typed.location_id is not null
        group by typed.location_id
    ) as listed
        on seeded.location_id = listed.location_id
    left join {{ ref('traffic_segments') }} as segments
        on listed.segment_id = segments.segment_id
    where coalesce(segments.segment_id, seeded.segment_id) is not null
{%- endmacro %}
