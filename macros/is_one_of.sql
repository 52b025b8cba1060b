{#- `column in ('a', 'b', ...)` from a list known at compile time (so the engine can prune files
    or partitions on it); `1 = 0` for an empty list. Values are quoted as SQL strings and cast
    to `as_type` when given. -#}
{% macro is_one_of(column, values, as_type=none) -%}
    {%- if values | length == 0 -%}
        1 = 0
    {%- else -%}
        {%- set literals = [] -%}
        {%- for value in values -%}
            {%- set quoted = "'" ~ (value | string | replace("'", "''")) ~ "'" -%}
            {%- do literals.append('cast(' ~ quoted ~ ' as ' ~ as_type ~ ')' if as_type else quoted) -%}
        {%- endfor -%}
        {{ column }} in ({{ literals | join(', ') }})
    {%- endif -%}
{%- endmacro %}
