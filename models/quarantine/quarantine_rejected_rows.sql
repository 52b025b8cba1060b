-- Every rejected line of every feed, with its reason: nothing landed is ever silently dropped.

{%- set staging_models = [
    ('stg_sensor_firehose__readings', 'reading_line_id'),
    ('stg_sensor_history__readings', 'reading_line_id'),
    ('stg_sensor_db__temperatures', 'reading_line_id'),
    ('stg_traffic_firehose__measurements', 'measurement_line_id'),
] %}

with

rejected as (

    {%- for model, line_key in staging_models %}
        select
            {{ line_key }} as reading_line_id,
            feed,
            rejection_reason,
            raw_line,
            source_file,
            line_occurrence,
            landed_at
        from {{ ref(model) }}
        where rejection_reason is not null
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
    union all
    -- seismic: one row per rejected feature (raw_line = the feature's JSON) or per line that
    -- is not a FeatureCollection (raw_line = the whole line)
    select
        feature_line_id as reading_line_id,
        feed,
        rejection_reason,
        raw_line,
        source_file,
        line_occurrence,
        landed_at
    from {{ ref('stg_seismic__features') }}
    where rejection_reason is not null

)

select * from rejected
