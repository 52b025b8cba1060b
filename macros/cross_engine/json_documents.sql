{#-
    Nested JSON documents (a FeatureCollection per line): test for an array, flatten an array
    into one row per element, and read many fields of each element. Paths are dotted keys with
    optional list indexes, e.g. 'properties.depth' or 'geometry.coordinates[1]' (0-based).

    Reading fields: json_record(doc, fields) parses an element once, then json_record_text /
    json_record_number read from that record. DuckDB parses each element into a typed struct
    (from_json), which is about five times faster than one JSON-path extraction per field; on
    Athena and Redshift the record is the document itself, read with JSON paths / SUPER navigation.
-#}

{#- 'geometry.coordinates[1]' -> [('geometry', none), ('coordinates', 1)] -#}
{% macro json_path_steps(path) -%}
    {%- set steps = [] -%}
    {%- for part in path.split('.') -%}
        {%- set found = modules.re.match('^([A-Za-z_][A-Za-z0-9_]*)(?:\\[(\\d+)\\])?$', part) -%}
        {%- if not found -%}
            {{ exceptions.raise_compiler_error('unsupported JSON path ' ~ path ~ ' (use key.key[0])') }}
        {%- endif -%}
        {%- do steps.append((found.group(1), none if found.group(2) is none else found.group(2) | int)) -%}
    {%- endfor -%}
    {{ return(steps) }}
{%- endmacro %}


{#- Redshift SUPER navigation for a path: doc."geometry"."coordinates"[1] -#}
{% macro super_path(doc, path) -%}
    {{ doc }}
    {%- for key, index in eventlake.json_path_steps(path) -%}
        ."{{ key }}"{% if index is not none %}[{{ index }}]{% endif %}
    {%- endfor -%}
{%- endmacro %}


{#- True when the document has an array at `key` (false for anything else, and for null). -#}
{% macro json_field_is_array(doc, key) -%}
    {{ return(adapter.dispatch('json_field_is_array', 'eventlake')(doc, key)) }}
{%- endmacro %}

{% macro default__json_field_is_array(doc, key) -%}
    coalesce(json_type({{ doc }}, '$.{{ key }}') = 'ARRAY', false)
{%- endmacro %}

{% macro athena__json_field_is_array(doc, key) -%}
    coalesce(json_array_length(json_extract({{ doc }}, '$.{{ key }}')) is not null, false)
{%- endmacro %}

{% macro redshift__json_field_is_array(doc, key) -%}
    coalesce(is_array({{ eventlake.super_path(doc, key) }}), false)
{%- endmacro %}


{#- Elements in an array field (null when it is not an array). -#}
{% macro json_array_size(doc, key) -%}
    {{ return(adapter.dispatch('json_array_size', 'eventlake')(doc, key)) }}
{%- endmacro %}

{% macro default__json_array_size(doc, key) -%}
    case when {{ eventlake.json_field_is_array(doc, key) }} then json_array_length({{ doc }}, '$.{{ key }}') end
{%- endmacro %}

{% macro athena__json_array_size(doc, key) -%}
    json_array_length(json_extract({{ doc }}, '$.{{ key }}'))
{%- endmacro %}

{% macro redshift__json_array_size(doc, key) -%}
    case when is_array({{ eventlake.super_path(doc, key) }}) then get_array_length({{ eventlake.super_path(doc, key) }}) end
{%- endmacro %}


{#-
    One row per element of the array at `key` of `doc`, for rows of `relation` where it is an
    array: the `columns` of the relation, `element` (the element as JSON) and `element_index`
    (1-based position). Rows whose `key` is not an array give no rows here.
-#}
{% macro flatten_json_array(relation, doc, key, columns) -%}
    {{ return(adapter.dispatch('flatten_json_array', 'eventlake')(relation, doc, key, columns)) }}
{%- endmacro %}

{#- DuckDB: one parse per line straight into a list of the elements as JSON (json_transform; a
    `features` that is absent or not an array gives null, which unnests to no rows). Two traps
    measured on 1.2 M features (README, seismic benchmark): a filter on the list (`where elements
    is not null`) is evaluated on its own, parsing every line twice more; and json_extract of the
    array then from_json re-serialises and re-parses it. -#}
{% macro default__flatten_json_array(relation, doc, key, columns) -%}
    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        unnest(elements) as element,
        unnest(range(1, len(elements) + 1)) as element_index
    from (
        select
            {%- for column in columns %}
            {{ column }},
            {%- endfor %}
            json_transform({{ doc }}, '{{ tojson({key: ['JSON']}) }}').{{ key }} as elements
        from {{ relation }}
    ) as arrays
{%- endmacro %}

{#- Athena (Trino): CROSS JOIN UNNEST of the array cast to ARRAY(JSON), with ordinality. -#}
{% macro athena__flatten_json_array(relation, doc, key, columns) -%}
    select
        {%- for column in columns %}
        collections.{{ column }},
        {%- endfor %}
        flattened.element,
        flattened.element_index
    from {{ relation }} as collections
    cross join unnest(
        case
            when {{ eventlake.json_field_is_array('collections.' ~ doc, key) }}
                then cast(json_extract(collections.{{ doc }}, '$.{{ key }}') as array(json))
        end
    ) with ordinality as flattened (element, element_index)
{%- endmacro %}

{#- Redshift: PartiQL navigation over SUPER, `FROM t, t.doc.key AS e AT i` (i is 0-based). -#}
{% macro redshift__flatten_json_array(relation, doc, key, columns) -%}
    select
        {%- for column in columns %}
        collections.{{ column }},
        {%- endfor %}
        element,
        element_position + 1 as element_index
    from {{ relation }} as collections,
        {{ eventlake.super_path('collections.' ~ doc, key) }} as element at element_position
    where is_array({{ eventlake.super_path('collections.' ~ doc, key) }})
{%- endmacro %}


{#- True when an element given by flatten_json_array is a JSON object. -#}
{% macro json_element_is_object(element) -%}
    {{ return(adapter.dispatch('json_element_is_object', 'eventlake')(element)) }}
{%- endmacro %}

{#- DuckDB: the element is compact JSON text written by DuckDB, so an object starts with '{'
    (json_type would parse all 1.2 M elements once more). -#}
{% macro default__json_element_is_object(element) -%}
    coalesce(starts_with({{ element }}, '{'), false)
{%- endmacro %}

{% macro athena__json_element_is_object(element) -%}
    {{ eventlake.json_is_object(element) }}
{%- endmacro %}

{% macro redshift__json_element_is_object(element) -%}
    {{ eventlake.json_is_object(element) }}
{%- endmacro %}


{#- Parse a JSON element once for reading the `fields` paths (DuckDB: every leaf kept as JSON,
    so the accessors can tell a number from a string). -#}
{% macro json_record(doc, fields) -%}
    {{ return(adapter.dispatch('json_record', 'eventlake')(doc, fields)) }}
{%- endmacro %}

{% macro default__json_record(doc, fields) -%}
    {%- set spec = {} -%}
    {%- for path, kind in fields.items() -%}
        {%- set node = namespace(at=spec) -%}
        {%- set steps = eventlake.json_path_steps(path) -%}
        {%- for key, index in steps -%}
            {%- set leaf = 'JSON' -%}
            {%- if loop.last and index is none -%}
                {%- do node.at.update({key: leaf}) -%}
            {%- elif loop.last -%}
                {%- do node.at.update({key: [leaf]}) -%}
            {%- else -%}
                {%- if key not in node.at -%}{%- do node.at.update({key: {}}) -%}{%- endif -%}
                {%- set node.at = node.at[key] -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    from_json({{ doc }}, '{{ tojson(spec) }}')
{%- endmacro %}

{% macro athena__json_record(doc, fields) -%}
    {{ doc }}
{%- endmacro %}

{% macro redshift__json_record(doc, fields) -%}
    {{ doc }}
{%- endmacro %}


{#- A text field of a record (a JSON string, or a number's text); null when absent or null. -#}
{% macro json_record_text(record, path) -%}
    {{ return(adapter.dispatch('json_record_text', 'eventlake')(record, path)) }}
{%- endmacro %}

{#- DuckDB: the record's leaves are JSON text written by DuckDB itself (compact, canonical), so
    the first character tells the type (" string, { object, [ array, else a number or boolean,
    null is SQL null) without parsing the leaf again: 1.2 M features x 14 leaves. -#}
{% macro default__json_record_text(record, path) -%}
    {%- set value = eventlake.duckdb_struct_path(record, path) -%}
    case
        when starts_with({{ value }}, '"') then json_extract_string({{ value }}, '$')
        when left({{ value }}, 1) not in ('{', '[') then cast({{ value }} as varchar)
    end
{%- endmacro %}

{% macro athena__json_record_text(record, path) -%}
    {{ eventlake.athena__json_field_text(record, path) }}
{%- endmacro %}

{% macro redshift__json_record_text(record, path) -%}
    {%- set value = eventlake.super_path(record, path) -%}
    case
        when json_typeof({{ value }}) = 'string' then cast({{ value }} as varchar)
        when json_typeof({{ value }}) in ('number', 'boolean') then json_serialize({{ value }})
    end
{%- endmacro %}


{#- A field as a double, only when it is a JSON number ("8.5" as a string is not a number). -#}
{% macro json_record_number(record, path) -%}
    {{ return(adapter.dispatch('json_record_number', 'eventlake')(record, path)) }}
{%- endmacro %}

{#- DuckDB: a canonical JSON number starts with a digit or a minus sign (see json_record_text). -#}
{% macro default__json_record_number(record, path) -%}
    {%- set value = eventlake.duckdb_struct_path(record, path) -%}
    case
        when left({{ value }}, 1) in ('-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9')
            then cast(cast({{ value }} as varchar) as double)
    end
{%- endmacro %}

{% macro athena__json_record_number(record, path) -%}
    {{ eventlake.athena__json_field_number(record, path) }}
{%- endmacro %}

{% macro redshift__json_record_number(record, path) -%}
    {%- set value = eventlake.super_path(record, path) -%}
    case when json_typeof({{ value }}) = 'number' then cast({{ value }} as double precision) end
{%- endmacro %}


{#- DuckDB struct access for a path: record.geometry.coordinates[2] (lists are 1-based). -#}
{% macro duckdb_struct_path(record, path) -%}
    ({{ record }})
    {%- for key, index in eventlake.json_path_steps(path) -%}
        ."{{ key }}"{% if index is not none %}[{{ index + 1 }}]{% endif %}
    {%- endfor -%}
{%- endmacro %}


{#- A JSON value (document or element) as its text. -#}
{% macro json_to_text(value) -%}
    {{ return(adapter.dispatch('json_to_text', 'eventlake')(value)) }}
{%- endmacro %}

{% macro default__json_to_text(value) -%}
    cast({{ value }} as varchar)
{%- endmacro %}

{% macro athena__json_to_text(value) -%}
    json_format({{ value }})
{%- endmacro %}

{% macro redshift__json_to_text(value) -%}
    json_serialize({{ value }})
{%- endmacro %}
