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

{#- DuckDB: partitioning by the line's 64-bit hash() instead of its text keeps the sort cheap (2-3x
    faster on millions of ~400-byte lines), but hash() is not collision-free (4 collisions among
    1.71M distinct traffic lines, issue 13): two different lines of an object can share a
    partition. Ordering by the text puts each line's copies next to each other, and rank() (the
    position of a line's first copy in that order) makes the number exact anyway: copies of one
    text are numbered 1, 2, ... whatever else shares their partition. Both windows share one
    sort. The line's key (raw_line_key) is an md5 of the object, text and this number. -#}
{% macro duckdb__number_identical_lines(relation) -%}
    select
        source_file,
        landed_at,
        line,
        read_error,
        row_number() over same_hash - rank() over same_hash + 1 as line_occurrence
    from {{ relation }}
    window same_hash as (partition by source_file, hash(line) order by line)
{%- endmacro %}
