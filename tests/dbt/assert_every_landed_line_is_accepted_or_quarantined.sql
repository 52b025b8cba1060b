-- Reconciliation, per feed: lines landed = rows accepted + rows quarantined. Returns the feeds
-- where the three counts disagree (a failing test lists them).

{%- set feeds = [
    ('firehose', source('sensor_firehose', 'readings')),
    ('history_files', source('sensor_history', 'readings')),
    ('db_extract', source('sensor_db', 'temperatures')),
] %}

with

landed as (
    {%- for feed, relation in feeds %}
        select
            '{{ feed }}' as feed,
            count(*) as lines_landed
        from {{ relation }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

accepted as (
    select
        feed,
        count(*) as rows_accepted
    from {{ ref('int_temperature_readings_unioned') }}
    group by feed
),

quarantined as (
    select
        feed,
        count(*) as rows_quarantined
    from {{ ref('quarantine_rejected_rows') }}
    group by feed
),

reconciled as (
    select
        landed.feed,
        landed.lines_landed,
        coalesce(accepted.rows_accepted, 0) as rows_accepted,
        coalesce(quarantined.rows_quarantined, 0) as rows_quarantined
    from landed
    left join accepted on landed.feed = accepted.feed
    left join quarantined on landed.feed = quarantined.feed
)

select * from reconciled
where lines_landed <> rows_accepted + rows_quarantined
