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
