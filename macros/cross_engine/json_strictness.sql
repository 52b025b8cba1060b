{#-
    Strict JSON (RFC 8259) on top of each engine's lenient parser. DuckDB's json_valid accepts
    NaN, Infinity and inf, trailing commas ({"a":1,} and [1,2,]) and duplicate keys (the first
    value silently wins); a line written that way is quarantined with its own reason instead of
    being accepted with a guessed value. Reasons (seeds/quarantine_reasons.csv):
      non_finite_number      NaN, Infinity or inf outside a string, or a number that overflows a
                             double (1e400): also checked on each numeric field by json_finite
      number_with_bare_sign  a leading '+', or a '-' not followed by a digit (-.5, - 5, -}):
                             no engine reads these as JSON, so without this check they are only
                             `invalid_json`; this names the cause
      trailing_comma         a ',' right before '}' or ']'
      duplicate_key          an object key given twice (top level; seismic also checks each
                             feature, its properties and its geometry with json_duplicate_key)

    The text checks run on the line with every JSON string blanked ("..." -> ""), so a NaN or
    ',}' inside a string value is not mistaken for one; a cheap regex on the raw line first keeps
    the blanking off the lines that cannot match (nearly all of them).
-#}

{#- The reason a line of text breaks strict JSON, or null. -#}
{% macro json_strictness_reason(text_expr) -%}
    {{ return(adapter.dispatch('json_strictness_reason', 'eventlake')(text_expr)) }}
{%- endmacro %}

{% macro default__json_strictness_reason(text_expr) -%}
    {%- set blanked = "regexp_replace(" ~ text_expr ~ ", '\"(?:[^\"\\\\]|\\\\.)*\"', '\"\"', 'g')" -%}
    case
        when regexp_matches({{ text_expr }}, '(?i)nan|inf|,\s*[}\]]|[\[:,]\s*(\+|-\s*[^0-9])')
            then case
                when regexp_matches({{ blanked }}, '(?i)nan|inf') then 'non_finite_number'
                when regexp_matches({{ blanked }}, '[\[:,]\s*(\+|-\s*[^0-9])') then 'number_with_bare_sign'
                when regexp_matches({{ blanked }}, ',\s*[}\]]') then 'trailing_comma'
            end
    end
{%- endmacro %}

{#- DuckDB: the prefilter looks for what can start a violation outside a string (':' ',' or '['
    then a sign or N/I/n/i, or ',' before '}' / ']'): 0.7 s per million 400-byte lines on one
    core. The blanked line is used once, inside a lambda: written three times, DuckDB's
    common-subexpression pass would compute it for every row, prefilter or not (5x slower). -#}
{% macro duckdb__json_strictness_reason(text_expr) -%}
    case
        when regexp_matches({{ text_expr }}, '[:,\[]\s*([+NnIi]|-\s*[^0-9])|,\s*[}\]]')
            then list_transform(
                [regexp_replace({{ text_expr }}, '"(?:[^"\\]|\\.)*"', '""', 'g')],
                blanked -> case
                    when regexp_matches(blanked, '(?i)nan|inf') then 'non_finite_number'
                    when regexp_matches(blanked, '[\[:,]\s*(\+|-\s*[^0-9])') then 'number_with_bare_sign'
                    when regexp_matches(blanked, ',\s*[}\]]') then 'trailing_comma'
                end
            )[1]
    end
{%- endmacro %}

{#- Athena (Trino): json_parse is strict (no NaN, no trailing comma), so such lines are already
    invalid; the same text checks name the cause. Java regex: the same patterns. -#}
{% macro athena__json_strictness_reason(text_expr) -%}
    {%- set blanked = "regexp_replace(" ~ text_expr ~ ", '\"(?:[^\"\\\\]|\\\\.)*\"', '\"\"')" -%}
    case
        when regexp_like({{ text_expr }}, '(?i)nan|inf|,\s*[}\]]|[\[:,]\s*(\+|-\s*[^0-9])')
            then case
                when regexp_like({{ blanked }}, '(?i)nan|inf') then 'non_finite_number'
                when regexp_like({{ blanked }}, '[\[:,]\s*(\+|-\s*[^0-9])') then 'number_with_bare_sign'
                when regexp_like({{ blanked }}, ',\s*[}\]]') then 'trailing_comma'
            end
    end
{%- endmacro %}

{#- Redshift: POSIX regex classes ([[:space:]]); 'i' for case-insensitive matching. -#}
{% macro redshift__json_strictness_reason(text_expr) -%}
    {%- set blanked = "regexp_replace(" ~ text_expr ~ ", '\"([^\"\\\\]|\\\\.)*\"', '\"\"')" -%}
    case
        when regexp_instr({{ text_expr }}, 'nan|inf|,[[:space:]]*[]}]|[,:[][[:space:]]*([+]|-[[:space:]]*[^0-9])', 1, 1, 0, 'i') > 0
            then case
                when regexp_instr({{ blanked }}, 'nan|inf', 1, 1, 0, 'i') > 0 then 'non_finite_number'
                when regexp_instr({{ blanked }}, '[,:[][[:space:]]*([+]|-[[:space:]]*[^0-9])') > 0
                    then 'number_with_bare_sign'
                when regexp_instr({{ blanked }}, ',[[:space:]]*[]}]') > 0 then 'trailing_comma'
            end
    end
{%- endmacro %}


{#- True when one of the JSON objects at `paths` of `json_expr` (text or a parsed value; '$' is
    the value itself, '$.properties' a member) repeats a key; a path that is absent is fine. -#}
{% macro json_duplicate_key(json_expr, paths=['$']) -%}
    {{ return(adapter.dispatch('json_duplicate_key', 'eventlake')(json_expr, paths)) }}
{%- endmacro %}

{#- DuckDB: json_keys keeps every key as written, duplicates included, and lists the keys of
    every path in one parse (three separate calls cost 1.7x as much, measured). -#}
{% macro default__json_duplicate_key(json_expr, paths=['$']) -%}
    coalesce(
        list_bool_or(list_transform(
            json_keys({{ json_expr }}, ['{{ paths | join("', '") }}']),
            written -> len(written) <> len(list_distinct(written))
        )),
        false
    )
{%- endmacro %}

{#- Athena (Trino): casting an object with a repeated key to a MAP fails, so try() gives null. -#}
{% macro athena__json_duplicate_key(json_expr, paths=['$']) -%}
    (
    {%- for path in paths %}
        {{ 'or ' if not loop.first }}coalesce(
            json_extract({{ json_expr }}, '{{ path }}') is not null
            and try(cast(json_extract({{ json_expr }}, '{{ path }}') as map(varchar, json))) is null
            and substr(json_format(json_extract({{ json_expr }}, '{{ path }}')), 1, 1) = '{',
            false
        )
    {%- endfor %}
    )
{%- endmacro %}

{#- Redshift: json_parse keeps one value per key and SUPER cannot list the keys as written, so
    a repeated key is not detectable after parsing; documented in docs/reliability.md. -#}
{% macro redshift__json_duplicate_key(json_expr, paths=['$']) -%}
    false
{%- endmacro %}


{#- True when a number read from JSON (a double, or null) is finite; null stays null. -#}
{% macro json_finite(number_expr) -%}
    {{ return(adapter.dispatch('json_finite', 'eventlake')(number_expr)) }}
{%- endmacro %}

{% macro default__json_finite(number_expr) -%}
    isfinite({{ number_expr }})
{%- endmacro %}

{% macro athena__json_finite(number_expr) -%}
    is_finite({{ number_expr }})
{%- endmacro %}

{#- Redshift's double precision holds no NaN or infinity from JSON (json_parse refuses them). -#}
{% macro redshift__json_finite(number_expr) -%}
    (case when {{ number_expr }} is not null then true end)
{%- endmacro %}


{#- True when a record field (eventlake.json_record) is absent, null, a JSON string or a JSON
    number; false for true/false, objects and arrays (an event id of `true` is not an id). -#}
{% macro json_record_is_text_or_number(record, path) -%}
    {{ return(adapter.dispatch('json_record_is_text_or_number', 'eventlake')(record, path)) }}
{%- endmacro %}

{#- DuckDB: the leaf is canonical JSON text, so its first character gives its type. -#}
{% macro default__json_record_is_text_or_number(record, path) -%}
    {%- set value = eventlake.duckdb_struct_path(record, path) -%}
    coalesce(left({{ value }}, 1) in ('"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'), true)
{%- endmacro %}

{% macro athena__json_record_is_text_or_number(record, path) -%}
    coalesce(regexp_like(json_format(json_extract({{ record }}, '$.{{ path }}')), '^("|-|[0-9]|null$)'), true)
{%- endmacro %}

{% macro redshift__json_record_is_text_or_number(record, path) -%}
    coalesce(json_typeof({{ eventlake.super_path(record, path) }}) in ('string', 'number', 'null'), true)
{%- endmacro %}


{#- True when a record field (eventlake.json_record) is NaN, Infinity or inf as written. Cheaper
    per feature than the text check on every element: it reads only the leaves the model uses. -#}
{% macro json_record_non_finite(record, path) -%}
    {{ return(adapter.dispatch('json_record_non_finite', 'eventlake')(record, path)) }}
{%- endmacro %}

{#- DuckDB: the leaf is the number's text as written (NaN, -Infinity, inf...). -#}
{% macro default__json_record_non_finite(record, path) -%}
    coalesce(left(lower(ltrim({{ eventlake.duckdb_struct_path(record, path) }}, '-')), 3) in ('nan', 'inf'), false)
{%- endmacro %}

{#- Athena and Redshift refuse NaN and Infinity when parsing: such a line is invalid already. -#}
{% macro athena__json_record_non_finite(record, path) -%}
    false
{%- endmacro %}

{% macro redshift__json_record_non_finite(record, path) -%}
    false
{%- endmacro %}


{#- How many keys a JSON text writes: its `":` pairs (a string value holding `":` counts too, so
    callers compare with the keys they found and check further only when it is more). DuckDB
    counts bytes (strlen): length() decodes UTF-8 to count characters, several times slower on
    every line, and both characters are ASCII, so the difference is the same. -#}
{% macro json_written_key_count(text_expr) -%}
    {{ return(adapter.dispatch('json_written_key_count', 'eventlake')(text_expr)) }}
{%- endmacro %}

{% macro default__json_written_key_count(text_expr) -%}
    (length({{ text_expr }}) - length(replace({{ text_expr }}, '":', ''))) / 2
{%- endmacro %}

{% macro duckdb__json_written_key_count(text_expr) -%}
    (strlen({{ text_expr }}) - strlen(replace({{ text_expr }}, '":', ''))) // 2
{%- endmacro %}
