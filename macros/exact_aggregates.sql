{#-
    Aggregates over floating-point columns that give the same bits on every build.

    A parallel engine (DuckDB with threads, Athena, Redshift) adds a group's values in no fixed
    order, and floating-point addition is not associative: avg() of the same rows can differ in
    the last bits between two builds, and rounding to 6 decimals only moves the problem to the
    rounding boundary (agg_seismic_utm_zones' avg_latitude differed in the 6th decimal in 8 of
    20 fresh builds). These macros sum in exact decimal arithmetic instead (order-independent),
    convert the exact result to double once, then round: same input, same output, bit for bit.

    `input_scale` is how many decimals of each value are kept (values are rounded to it when
    cast; 10 decimals is far below any sensor's resolution). Sums stay within decimal(38, s):
    for exact_avg that leaves 28 integer digits, for exact_stddev_samp (squares: 2 x scale)
    38 - 2 x input_scale digits, ample for temperatures, depths and coordinates.
-#}

{#- The mean of `expr`, exact, rounded to `decimals`; null when no value is non-null. -#}
{% macro exact_avg(expr, decimals=6, input_scale=10) -%}
    {%- set value = 'cast(' ~ expr ~ ' as decimal(38, ' ~ input_scale ~ '))' -%}
    round(cast(sum({{ value }}) as {{ eventlake.type_double() }}) / nullif(count({{ expr }}), 0), {{ decimals }})
{%- endmacro %}

{#- The sample standard deviation of `expr` (as stddev_samp), from exact sums of values and
    squares, rounded to `decimals`; null with fewer than two values. -#}
{% macro exact_stddev_samp(expr, decimals=6, input_scale=6) -%}
    {%- set value = 'cast(' ~ expr ~ ' as decimal(38, ' ~ input_scale ~ '))' -%}
    round(
        sqrt(
            cast(count({{ expr }}) * sum({{ value }} * {{ value }}) - sum({{ value }}) * sum({{ value }}) as {{ eventlake.type_double() }})
            / nullif(count({{ expr }}) * (count({{ expr }}) - 1), 0)
        ),
        {{ decimals }}
    )
{%- endmacro %}
