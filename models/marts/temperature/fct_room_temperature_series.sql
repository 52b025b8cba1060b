{{ config(
    materialized='table',
    **eventlake.physical_layout(partition_by=['room_id'], dist='room_id', sort=['room_id', 'reading_at'])
) }}

-- The per-room series the Random Cut Forest trains on and scores: one model for every room
-- (keyed by room), each room's readings numbered in time order so a consumer can shingle
-- (take the last k readings as one feature vector) and see gaps.

with

readings as (

    select * from {{ ref('fct_temperature_readings') }}

),

sequenced as (

    select
        reading_id,
        reading_at,
        temperature_c,
        row_number() over (partition by room_id order by reading_at) as reading_index,
        {{ eventlake.epoch_seconds_between(
            'lag(reading_at) over (partition by room_id order by reading_at)', 'reading_at'
        ) }} as seconds_since_previous,
        room_id
    from readings

)

select * from sequenced
