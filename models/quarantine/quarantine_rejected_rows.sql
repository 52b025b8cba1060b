-- Every rejected line of every feed, with its reason: nothing landed is ever silently dropped.
-- Incremental, append-only like the staging models it reads: a run appends the rejected rows
-- each staging model staged after the latest staged_at already quarantined from its feed (one
-- watermark per feed, so a staging model skipped by one run is caught up by the next); equal to
-- a full refresh.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
) }}

{#- seismic: one row per rejected feature (raw_line = the feature's JSON) or per line that is
    not a FeatureCollection (raw_line = the whole line) -#}
{%- set staging_models = [
    ('stg_sensor_firehose__readings', 'reading_line_id', 'firehose'),
    ('stg_sensor_history__readings', 'reading_line_id', 'history_files'),
    ('stg_sensor_db__temperatures', 'reading_line_id', 'db_extract'),
    ('stg_traffic_firehose__measurements', 'measurement_line_id', 'traffic_firehose'),
    ('stg_seismic__features', 'feature_line_id', 'seismic_events'),
] %}

{%- set watermarks = {} -%}
{%- set since_ever = '1900-01-01 00:00:00' -%}
{%- if eventlake.incremental_run() -%}
    {%- set sql -%}
        select {{ dbt.concat(['feed', "'|'", dbt.cast('max(staged_at)', dbt.type_string())]) }}
        from {{ this }}
        group by feed
    {%- endset -%}
    {%- for row in eventlake.query_column(sql, ['firehose|2000-01-01 00:00:00']) -%}
        {%- set parts = row.split('|', 1) -%}
        {%- do watermarks.update({parts[0]: parts[1]}) -%}
    {%- endfor -%}
{%- endif %}

with

rejected as (

    {%- for model, line_key, feed in staging_models %}
        select
            {{ line_key }} as reading_line_id,
            feed,
            rejection_reason,
            raw_line,
            source_file,
            line_occurrence,
            landed_at,
            staged_at
        from {{ ref(model) }}
        where
            rejection_reason is not null
            -- after the feed's latest quarantined row (since_ever: a full build, a first row)
            and staged_at > cast('{{ watermarks.get(feed, since_ever) }}' as {{ dbt.type_timestamp() }})
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

)

select * from rejected
