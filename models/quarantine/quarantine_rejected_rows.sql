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

)

select * from rejected
