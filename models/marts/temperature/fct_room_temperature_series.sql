{#-
    The per-room series the Random Cut Forest trains on and scores: one model for every room
    (keyed by room), each room's readings numbered in time order so a consumer can shingle
    (take the last k readings as one feature vector) and see gaps.

    Incremental per room: a reading new or revised in the partitions the fact rebuilt since this
    model's last run (the fact's _staged_through above ours) shifts the index of every later
    reading of its room, so each such room is renumbered from its earliest changed reading on,
    continuing from the last unchanged one; it equals a full refresh. Readings are only ever added
    or revised, never removed, so delete+insert on reading_id replaces every renumbered row.
    Where the engine overwrites whole partitions (Athena's insert_overwrite, partitioned by
    room), a changed room is renumbered whole.
-#}
{{ config(**eventlake.partition_rebuild_config(
    unique_key='reading_id',
    partition_by=['room_id'],
    dist='room_id',
    sort=['room_id', 'reading_at'],
)) }}

{%- set incremental = eventlake.incremental_run() -%}
{%- set whole_rooms = eventlake.partition_overwrite_strategy() == 'insert_overwrite' -%}
{%- set watermark = eventlake.max_timestamp_literal(this, '_staged_through') if incremental else none -%}

with

{%- if incremental %}

rebuilt as (

    select
        reading_id,
        room_id,
        reading_at,
        temperature_c
    from {{ ref('fct_temperature_readings') }}
    {%- if watermark is not none %}
        where _staged_through > {{ watermark }}
    {%- endif %}

),

changed as (

    -- per room, the earliest reading that is new or whose value changed
    select
        rebuilt.room_id,
        min(rebuilt.reading_at) as changed_from
    from rebuilt
    left join {{ this }} as built
        on rebuilt.reading_id = built.reading_id
    where built.reading_id is null or built.temperature_c <> rebuilt.temperature_c
    group by rebuilt.room_id

),

previous as (

    -- the last reading before the change, unchanged: the renumbering continues from it
    select
        built.room_id,
        max(built.reading_index) as reading_index,
        max(built.reading_at) as reading_at
    from {{ this }} as built
    inner join changed
        on
            built.room_id = changed.room_id
            {%- if not whole_rooms %}
            and built.reading_at < changed.changed_from
            {%- else %}
            and 1 = 0
            {%- endif %}
    group by built.room_id

),

readings as (

    select fact.*
    from {{ ref('fct_temperature_readings') }} as fact
    inner join changed
        on
            fact.room_id = changed.room_id
            {%- if not whole_rooms %}
            and fact.reading_at >= changed.changed_from
            {%- endif %}

),

{%- else %}

readings as (

    select * from {{ ref('fct_temperature_readings') }}

),

{%- endif %}

staged as (

    -- the fact's staging watermark: the next run looks at the partitions rebuilt after it
    select max(_staged_through) as staged_through
    from {{ ref('fct_temperature_readings') }}

),

ordered as (

    select
        reading_id,
        reading_at,
        temperature_c,
        room_id,
        row_number() over (partition by room_id order by reading_at) as position_in_rebuild,
        lag(reading_at) over (partition by room_id order by reading_at) as previous_reading_at
    from readings

),

sequenced as (

    select
        ordered.reading_id,
        ordered.reading_at,
        ordered.temperature_c,
        ordered.room_id,
        {%- if incremental %}
        coalesce(previous.reading_index, 0) + ordered.position_in_rebuild as reading_index,
        {{ eventlake.epoch_seconds_between(
            'coalesce(ordered.previous_reading_at, previous.reading_at)', 'ordered.reading_at'
        ) }} as seconds_since_previous
        {%- else %}
        ordered.position_in_rebuild as reading_index,
        {{ eventlake.epoch_seconds_between('ordered.previous_reading_at', 'ordered.reading_at') }}
            as seconds_since_previous
        {%- endif %}
    from ordered
    {%- if incremental %}
        left join previous on ordered.room_id = previous.room_id
    {%- endif %}

)

select
    sequenced.reading_id,
    sequenced.reading_at,
    sequenced.temperature_c,
    sequenced.reading_index,
    sequenced.seconds_since_previous,
    staged.staged_through as _staged_through,
    sequenced.room_id
from sequenced
cross join staged
