{#-
    JSON access for raw lines read as text. A line is parsed once (json_parse_safe) into a
    document column; accessors then read fields from that document. Invalid JSON becomes NULL
    rather than an error, so a malformed line is a row we can quarantine, not a failed query.
-#}

{% macro json_parse_safe(text_expr) -%}
    {{ return(adapter.dispatch('json_parse_safe', 'eventlake')(text_expr)) }}
{%- endmacro %}

{% macro default__json_parse_safe(text_expr) -%}
    case when json_valid({{ text_expr }}) then cast({{ text_expr }} as json) end
{%- endmacro %}

{% macro athena__json_parse_safe(text_expr) -%}
    try(json_parse({{ text_expr }}))
{%- endmacro %}

{% macro redshift__json_parse_safe(text_expr) -%}
    case when can_json_parse({{ text_expr }}) then json_parse({{ text_expr }}) end
{%- endmacro %}


{% macro json_is_object(doc) -%}
    {{ return(adapter.dispatch('json_is_object', 'eventlake')(doc)) }}
{%- endmacro %}

{% macro default__json_is_object(doc) -%}
    coalesce(json_type({{ doc }}) = 'OBJECT', false)
{%- endmacro %}

{% macro athena__json_is_object(doc) -%}
    coalesce(substr(json_format({{ doc }}), 1, 1) = '{', false)
{%- endmacro %}

{% macro redshift__json_is_object(doc) -%}
    coalesce(is_object({{ doc }}), false)
{%- endmacro %}


{#- Whether a line of text is a JSON object, without keeping the parsed document. -#}
{% macro json_text_is_object(text_expr) -%}
    {{ return(adapter.dispatch('json_text_is_object', 'eventlake')(text_expr)) }}
{%- endmacro %}

{% macro default__json_text_is_object(text_expr) -%}
    {{ eventlake.json_is_object(eventlake.json_parse_safe(text_expr)) }}
{%- endmacro %}

{#- DuckDB: valid JSON whose first character is '{' is an object; no second parse needed. -#}
{% macro duckdb__json_text_is_object(text_expr) -%}
    coalesce(json_valid({{ text_expr }}) and left(ltrim({{ text_expr }}), 1) = '{', false)
{%- endmacro %}


{#- A field as text; JSON null and an absent key both give NULL. -#}
{% macro json_field_text(doc, key) -%}
    {{ return(adapter.dispatch('json_field_text', 'eventlake')(doc, key)) }}
{%- endmacro %}

{% macro default__json_field_text(doc, key) -%}
    json_extract_string({{ doc }}, '$.{{ key }}')
{%- endmacro %}

{% macro athena__json_field_text(doc, key) -%}
    json_extract_scalar({{ doc }}, '$.{{ key }}')
{%- endmacro %}

{% macro redshift__json_field_text(doc, key) -%}
    case
        when json_typeof({{ doc }}."{{ key }}") = 'string' then cast({{ doc }}."{{ key }}" as varchar)
        when json_typeof({{ doc }}."{{ key }}") in ('number', 'boolean')
            then json_serialize({{ doc }}."{{ key }}")
    end
{%- endmacro %}


{#- A field as a double, only when it is a JSON number: "21.5" (a string) is not a number. -#}
{% macro json_field_number(doc, key) -%}
    {{ return(adapter.dispatch('json_field_number', 'eventlake')(doc, key)) }}
{%- endmacro %}

{% macro default__json_field_number(doc, key) -%}
    case
        when json_type({{ doc }}, '$.{{ key }}') in ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
            then cast(json_extract_string({{ doc }}, '$.{{ key }}') as double)
    end
{%- endmacro %}

{% macro athena__json_field_number(doc, key) -%}
    case
        when regexp_like(json_format(json_extract({{ doc }}, '$.{{ key }}')), '^-?[0-9]')
            then cast(json_extract_scalar({{ doc }}, '$.{{ key }}') as double)
    end
{%- endmacro %}

{% macro redshift__json_field_number(doc, key) -%}
    case
        when json_typeof({{ doc }}."{{ key }}") = 'number'
            then cast({{ doc }}."{{ key }}" as double precision)
    end
{%- endmacro %}


{#- True when the key is present with a non-null value of any JSON type. -#}
{% macro json_field_present(doc, key) -%}
    {{ return(adapter.dispatch('json_field_present', 'eventlake')(doc, key)) }}
{%- endmacro %}

{% macro default__json_field_present(doc, key) -%}
    coalesce(json_type({{ doc }}, '$.{{ key }}') <> 'NULL', false)
{%- endmacro %}

{% macro athena__json_field_present(doc, key) -%}
    coalesce(json_format(json_extract({{ doc }}, '$.{{ key }}')) <> 'null', false)
{%- endmacro %}

{% macro redshift__json_field_present(doc, key) -%}
    coalesce(json_typeof({{ doc }}."{{ key }}") <> 'null', false)
{%- endmacro %}


{#-
    Many fields of one line, parsed once. json_field_* above read one field per call, and DuckDB
    re-parses the JSON text on every call: fine for three fields, 25 parses per line for a feed
    with a dozen. json_parse_fields parses a line once into a handle for `keys`; json_doc_field
    takes one field's JSON value from that handle, and json_value_* read such a value.
    DuckDB: the handle is the list of the keys' values (one json_extract with a list of paths).
    Athena and Redshift: the handle is the parsed document itself.
-#}
{% macro json_parse_fields(text_expr, keys) -%}
    {{ return(adapter.dispatch('json_parse_fields', 'eventlake')(text_expr, keys)) }}
{%- endmacro %}

{% macro default__json_parse_fields(text_expr, keys) -%}
    {{ eventlake.json_parse_safe(text_expr) }}
{%- endmacro %}

{% macro duckdb__json_parse_fields(text_expr, keys) -%}
    {%- set paths = [] -%}
    {%- for key in keys -%}{%- do paths.append("'$.\"" ~ key ~ "\"'") -%}{%- endfor -%}
    case when json_valid({{ text_expr }}) then json_extract({{ text_expr }}, [{{ paths | join(', ') }}]) end
{%- endmacro %}


{% macro json_doc_field(handle, keys, key) -%}
    {{ return(adapter.dispatch('json_doc_field', 'eventlake')(handle, keys, key)) }}
{%- endmacro %}

{% macro duckdb__json_doc_field(handle, keys, key) -%}
    {{ handle }}[{{ keys.index(key) + 1 }}]
{%- endmacro %}

{% macro athena__json_doc_field(handle, keys, key) -%}
    json_extract({{ handle }}, '$.{{ key }}')
{%- endmacro %}

{% macro redshift__json_doc_field(handle, keys, key) -%}
    {{ handle }}."{{ key }}"
{%- endmacro %}


{#- True when a field's value is present and not JSON null. -#}
{% macro json_value_present(value) -%}
    {{ return(adapter.dispatch('json_value_present', 'eventlake')(value)) }}
{%- endmacro %}

{% macro default__json_value_present(value) -%}
    coalesce(json_type({{ value }}) <> 'NULL', false)
{%- endmacro %}

{% macro athena__json_value_present(value) -%}
    coalesce(json_format({{ value }}) <> 'null', false)
{%- endmacro %}

{% macro redshift__json_value_present(value) -%}
    coalesce(json_typeof({{ value }}) <> 'null', false)
{%- endmacro %}


{#- A field's value as a double, only when it is a JSON number. -#}
{% macro json_value_number(value) -%}
    {{ return(adapter.dispatch('json_value_number', 'eventlake')(value)) }}
{%- endmacro %}

{% macro default__json_value_number(value) -%}
    case
        when json_type({{ value }}) in ('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')
            then cast({{ value }} as double)
    end
{%- endmacro %}

{% macro athena__json_value_number(value) -%}
    case
        when regexp_like(json_format({{ value }}), '^-?[0-9]')
            then cast(json_format({{ value }}) as double)
    end
{%- endmacro %}

{% macro redshift__json_value_number(value) -%}
    case
        when json_typeof({{ value }}) = 'number' then cast({{ value }} as double precision)
    end
{%- endmacro %}


{#- For each key of a json_parse_fields handle, two columns: has_<name> (present and not null)
    and <name> (its value when a JSON number), named by `aliases` or else by the key itself. -#}
{% macro json_number_columns(handle, keys, aliases={}) -%}
    {%- for key in keys %}
    {{ eventlake.json_value_present(eventlake.json_doc_field(handle, keys, key)) }} as has_{{ aliases.get(key, key) }},
    {{ eventlake.json_value_number(eventlake.json_doc_field(handle, keys, key)) }} as {{ aliases.get(key, key) }}
    {{- ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
