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

changed as (

    -- per room, the reading to renumber from: its first on a full build; on an increment its
    -- earliest one that is new or whose value changed among those the fact rebuilt since
    select
        rebuilt.room_id,
        min(rebuilt.reading_at) as changed_from
    from {{ ref('fct_temperature_readings') }} as rebuilt
    {%- if incremental %}
        left join {{ this }} as built
            on rebuilt.reading_id = built.reading_id
        where
            (built.reading_id is null or built.temperature_c <> rebuilt.temperature_c)
            {%- if watermark is not none %}
                and rebuilt._staged_through > {{ watermark }}
            {%- endif %}
    {%- endif %}
    group by rebuilt.room_id

),

previous as (

    -- per changed room, its last reading before the change (unchanged): the numbering goes on
    -- from it; none on a full build or where the engine rewrites whole rooms
    {%- if incremental and not whole_rooms %}
        select
            built.room_id,
            max(built.reading_index) as reading_index,
            max(built.reading_at) as reading_at
        from {{ this }} as built
        inner join changed
            on
                built.room_id = changed.room_id
                and built.reading_at < changed.changed_from
        group by built.room_id
    {%- endif %}
    {%- if not (incremental and not whole_rooms) %}
        select
            room_id,
            cast(0 as bigint) as reading_index,
            changed_from as reading_at
        from changed
        where 1 = 0
    {%- endif %}

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

)

select
    ordered.reading_id,
    ordered.reading_at,
    ordered.temperature_c,
    coalesce(previous.reading_index, 0) + ordered.position_in_rebuild as reading_index,
    {{ eventlake.epoch_seconds_between(
        'coalesce(ordered.previous_reading_at, previous.reading_at)', 'ordered.reading_at'
    ) }} as seconds_since_previous,
    staged.staged_through as _staged_through,
    ordered.room_id
from ordered
left join previous on ordered.room_id = previous.room_id
cross join staged
