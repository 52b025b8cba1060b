{#- `column in ('a', 'b', ...)` from a list known at compile time (so the engine can prune files
    or partitions on it); `1 = 0` for an empty list. Values are quoted as SQL strings and cast
    to `as_type` when given. -#}
{% macro is_one_of(column, values, as_type=none) -%}
    {%- if values | length == 0 -%}
        1 = 0
    {%- else -%}
        {%- set literals = [] -%}
        {%- for value in values -%}
            {%- set quoted = eventlake.text_literal(value) -%}
            {%- do literals.append('cast(' ~ quoted ~ ' as ' ~ as_type ~ ')' if as_type else quoted) -%}
        {%- endfor -%}
        {{ column }} in ({{ literals | join(', ') }})
    {%- endif -%}
{%- endmacro %}


{#- A value as a SQL string literal. -#}
{% macro text_literal(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{#- A text, or a list of texts, as a DuckDB literal: 'a', or ['a', 'b'] (read_blob takes both). -#}
{% macro sql_text_literals(texts) -%}
    {%- if texts is string -%}
        {{ eventlake.text_literal(texts) }}
    {%- else -%}
        {%- set literals = [] -%}
        {%- for text in texts -%}{%- do literals.append(eventlake.text_literal(text)) -%}{%- endfor -%}
        [{{ literals | join(', ') }}]
    {%- endif -%}
{%- endmacro %}
