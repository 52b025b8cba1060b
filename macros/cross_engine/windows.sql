{#-
    Trailing averages over a time span rather than a number of rows, so a gap in the data never
    stretches a window: for each row, the mean of `value` over the rows of the same `partition_by`
    whose `order_by` lies within the last N minutes, the current row included (N = 3 covers the
    current minute and the two before it).

    Emits a SELECT of every column of `relation` plus one column per entry of `spans`
    ({column_name: minutes}). DuckDB and Athena (Trino) have RANGE frames with interval offsets;
    Redshift has only ROWS frames, so there the same result comes from a bounded self-join.
-#}
{% macro trailing_time_averages(relation, key, partition_by, order_by, value, spans) -%}
    {{ return(adapter.dispatch('trailing_time_averages', 'eventlake')(
        relation, key, partition_by, order_by, value, spans)) }}
{%- endmacro %}

{% macro default__trailing_time_averages(relation, key, partition_by, order_by, value, spans) -%}
    select
        {{ relation }}.*,
        {%- for column, minutes in spans.items() %}
        avg({{ value }}) over (
            partition by {{ partition_by }}
            order by {{ order_by }}
            range between interval '{{ minutes - 1 }}' minute preceding and current row
        ) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
{%- endmacro %}

{% macro redshift__trailing_time_averages(relation, key, partition_by, order_by, value, spans) -%}
    {%- set widest = spans.values() | max -%}
    select
        this_row.*,
        {%- for column, minutes in spans.items() %}
        spans.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }} as this_row
    inner join (
        select
            anchor.{{ key }},
            {%- for column, minutes in spans.items() %}
            avg(
                case
                    when earlier.{{ order_by }} >= dateadd(minute, -{{ minutes - 1 }}, anchor.{{ order_by }})
                        then earlier.{{ value }}
                end
            ) as {{ column }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ relation }} as anchor
        inner join {{ relation }} as earlier
            on
                anchor.{{ partition_by }} = earlier.{{ partition_by }}
                and earlier.{{ order_by }} between dateadd(minute, -{{ widest - 1 }}, anchor.{{ order_by }})
                and anchor.{{ order_by }}
        group by anchor.{{ key }}
    ) as spans
        on this_row.{{ key }} = spans.{{ key }}
{%- endmacro %}
