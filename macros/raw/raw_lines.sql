{#-
    The first steps of every staging model that parses raw lines, whatever the feed:
    read the feed (on an incremental run only objects not staged yet, listed by
    eventlake.unstaged_objects so the engine opens just those files), number identical lines
    within an object, and parse each line once into a JSON document `doc`. Emits the CTEs
    `source`, `numbered` and `parsed`; the caller writes `with` and continues from `parsed`.
-#}
{% macro parsed_raw_lines(source_relation) -%}
{%- set new_objects = eventlake.unstaged_objects(source_relation, this)
    if eventlake.incremental_run() else none -%}
source as (

    select * from {{ source_relation }}
    {%- if new_objects is not none %}
    where {{ eventlake.raw_objects_filter(new_objects) }}
    {%- endif %}

),

numbered as (

    -- identical lines in one object are indistinguishable, so numbering them in any order
    -- gives the same keys: the key stays deterministic without a reader-provided line number
    select
        source_file,
        landed_at,
        line,
        row_number() over (partition by source_file, line order by source_file) as line_occurrence
    from source

),

parsed as (

    select
        *,
        {{ eventlake.json_parse_safe('line') }} as doc
    from numbered

)
{%- endmacro %}


{#- The key of a landed line: feed, object, text and occurrence (stable across re-runs). -#}
{% macro raw_line_key(feed) -%}
    {{ dbt.hash(dbt.concat(["'" ~ feed ~ "'", "'|'", 'source_file', "'|'",
        "coalesce(line, '')", "'|'", dbt.cast('line_occurrence', dbt.type_string())])) }}
{%- endmacro %}


{#- When this run staged a row: the run's start time, the same for every row of the run. -#}
{% macro staged_at_value() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}
