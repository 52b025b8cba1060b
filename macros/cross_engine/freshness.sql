{#-
    Source freshness that reads only recent partitions. dbt's own collect_freshness runs
    `select max(landed_at) from <raw feed>`, and landed_at comes from the object path, so Athena
    (projection enumerates every hour since the range start) and Redshift Spectrum read every object
    of the feed. For a raw feed these overrides (dbt dispatches collect_freshness to the root
    project first) keep only the landed_hour partitions of the source's own window: its
    error_after (or warn_after) plus an hour, and at least var raw_relist_hours (default 48). A
    feed with no object in that window reports the window's start as its newest load: older than
    its error_after, so ERROR STALE, not a null error and not a false pass. Other sources, and
    DuckDB (a glob over local files), use dbt's query unchanged.
-#}

{% macro athena__collect_freshness(source, loaded_at_field, filter) -%}
    {{ return(eventlake.pruned_collect_freshness(source, loaded_at_field, filter)) }}
{%- endmacro %}

{% macro redshift__collect_freshness(source, loaded_at_field, filter) -%}
    {{ return(eventlake.pruned_collect_freshness(source, loaded_at_field, filter)) }}
{%- endmacro %}

{% macro pruned_collect_freshness(source, loaded_at_field, filter) -%}
    {%- call statement('collect_freshness', fetch_result=True, auto_begin=False) -%}
        {{ eventlake.freshness_query(source, loaded_at_field, filter) }}
    {%- endcall -%}
    {{ return(load_result('collect_freshness')) }}
{%- endmacro %}

{#- The freshness query for `source` (a relation), pruned when it is a raw feed. -#}
{% macro freshness_query(source, loaded_at_field, filter) -%}
    {%- set conditions = [filter] if filter else [] -%}
    {%- set floor = none -%}
    {%- if eventlake.is_raw_feed_relation(source) -%}
        {%- set since = (modules.datetime.datetime.utcnow() - modules.datetime.timedelta(
            hours=eventlake.freshness_window_hours(source))).strftime('%Y/%m/%d/%H') -%}
        {%- do conditions.append("landed_hour >= '" ~ since ~ "'") -%}
        {%- set floor = "cast('" ~ since.replace('/', '-', 2).replace('/', ' ') ~ ":00:00' as " ~ dbt.type_timestamp() ~ ")" -%}
    {%- endif -%}
    select
        {% if floor %}coalesce(max({{ loaded_at_field }}), {{ floor }}){% else %}max({{ loaded_at_field }}){% endif %} as max_loaded_at,
        {{ dbt.current_timestamp() }} as snapshotted_at
    from {{ source }}
    {%- if conditions %}
    where {{ conditions | join(' and ') }}
    {%- endif %}
{%- endmacro %}

{#- Hours of landed_hour partitions a raw feed's freshness reads: one past its error_after (or
    warn_after), so a feed staler than that threshold is reported as such; at least
    var raw_relist_hours. -#}
{% macro freshness_window_hours(relation) -%}
    {%- set per_period = {'minute': 1 / 60, 'hour': 1, 'day': 24} -%}
    {%- set window = namespace(hours=var('raw_relist_hours', 48)) -%}
    {%- for node in eventlake.raw_feed_sources() -%}
        {%- if node.schema | lower == (relation.schema or '') | lower
            and node.identifier | lower == (relation.identifier or '') | lower -%}
            {%- set freshness = node.freshness or node.config.get('freshness') or {} -%}
            {%- for threshold in [freshness.get('warn_after'), freshness.get('error_after')] -%}
                {%- if threshold and threshold.get('count') and threshold.get('period') -%}
                    {%- set hours = (threshold['count'] * per_period[threshold['period']]) | round(0, 'ceil') | int + 1 -%}
                    {%- if hours > window.hours -%}{%- set window.hours = hours -%}{%- endif -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(window.hours) }}
{%- endmacro %}

{% macro is_raw_feed_relation(relation) -%}
    {%- for node in eventlake.raw_feed_sources() -%}
        {%- if node.schema | lower == (relation.schema or '') | lower
            and node.identifier | lower == (relation.identifier or '') | lower -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}
