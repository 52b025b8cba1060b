{#-
    The first steps of every staging model that parses raw lines, whatever the feed:
    read the feed with its read_error (eventlake.raw_read_error; on an incremental run only objects not staged yet, listed by
    eventlake.unstaged_objects so the engine opens just those files), number identical lines
    within an object (the key stays deterministic without a reader-provided line number), and
    parse each line once into a JSON document `doc` (unless `parse_doc` is false: a caller that
    reads many fields parses them with json_parse_fields instead). Emits the CTEs `source`,
    `numbered` and `parsed`; the caller writes `with` and continues from `parsed`.
-#}
{% macro parsed_raw_lines(source_relation, parse_doc=true) -%}
{%- set new_objects = eventlake.unstaged_objects(source_relation, this)
    if eventlake.incremental_run() else none -%}
source as (

    {{ eventlake.raw_lines(source_relation, new_objects) }}

),

numbered as (

    {{ eventlake.number_identical_lines('source') }}

),

parsed as (

    select
        *,
        {%- if parse_doc %}
        {{ eventlake.json_parse_safe('line') }} as doc
        {%- else %}
        {{ eventlake.json_text_is_object('line') }} as is_json_object
        {%- endif %}
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
