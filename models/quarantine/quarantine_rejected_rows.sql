-- Every rejected line of every feed, with its reason: nothing landed is ever silently dropped.

with

rejected as (

    {%- for model in [
        'stg_sensor_firehose__readings',
        'stg_sensor_history__readings',
        'stg_sensor_db__temperatures',
    ] %}
        select
            reading_line_id,
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
