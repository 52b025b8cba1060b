{#-
    Staging for every temperature feed: all three land the seed payload
    {"timestamp": "YYYY-MM-DD HH:MM:SS", "room_id": "...", "temperature": 21.5}, so one parser
    serves them. It keeps every landed line: valid rows have rejection_reason null, the others
    carry the first failed check of seeds/quarantine_reasons.csv (in check_order). Nothing is
    dropped here, so lines landed = accepted + quarantined holds by construction and is tested.
    The last checks look the room up in the device registry (eventlake.registered_rooms: the seed
    and the data folder's registry file) as it is when the line is staged: unknown_room, then
    device_retired for a reading taken at or after the room's retired_at.

    Incremental runs read only objects not staged yet (eventlake.parsed_raw_lines) and stamp
    their rows with the run's start time: the fact rebuilds the event dates of rows staged after
    its last run. Neither depends on objects landing in name order, so a late backfill with old
    processing-time names is still picked up.
-#}
{% macro stage_temperature_lines(source_relation, feed) -%}
with

{{ eventlake.parsed_raw_lines(source_relation) }},

fields as (

    select
        source_file,
        landed_at,
        line,
        line_occurrence,
        read_error,
        {{ eventlake.json_strictness_reason('line') }} as json_violation,
        {{ eventlake.json_duplicate_key('doc') }} as has_duplicate_key,
        {{ eventlake.json_is_object('doc') }} as is_json_object,
        {{ eventlake.json_field_text('doc', 'timestamp') }} as reading_at_text,
        {{ eventlake.json_field_text('doc', 'room_id') }} as room_id,
        {{ eventlake.json_field_present('doc', 'temperature') }} as has_temperature,
        {{ eventlake.json_field_number('doc', 'temperature') }} as temperature_c
    from parsed

),

typed as (

    select
        *,
        {{ eventlake.try_parse_timestamp('reading_at_text') }} as reading_at
    from fields

),

-- the device registry (seed defaults + the data folder's file, eventlake.registered_rooms)
registered as (

    select
        typed.*,
        registry.room_id is not null as is_registered,
        registry.retired_at
    from typed
    left join ({{ eventlake.registered_rooms() }}) as registry
        on typed.room_id = registry.room_id

),

checked as (

    select
        *,
        case
            when read_error is not null then read_error
            when line is null or trim(line) = '' then 'empty_line'
            when json_violation is not null then json_violation
            when not is_json_object then 'invalid_json'
            when has_duplicate_key then 'duplicate_key'
            when reading_at_text is null then 'missing_timestamp'
            when room_id is null or trim(room_id) = '' then 'missing_room_id'
            when not has_temperature then 'missing_temperature'
            when temperature_c is null then 'temperature_not_numeric'
            when not {{ eventlake.json_finite('temperature_c') }} then 'non_finite_number'
            when reading_at is null then 'timestamp_unparseable'
            when
                temperature_c < {{ var('temperature_min_c') }}
                or temperature_c > {{ var('temperature_max_c') }}
                then 'temperature_out_of_range'
            when
                reading_at > {{ dbt.dateadd('minute', var('max_clock_skew_minutes'), 'landed_at') }}
                then 'timestamp_in_future'
            when not is_registered then 'unknown_room'
            when reading_at >= retired_at then 'device_retired'
        end as rejection_reason
    from registered

)

select
    {{ eventlake.raw_line_key(feed) }} as reading_line_id,
    cast('{{ feed }}' as {{ dbt.type_string() }}) as feed,
    case when rejection_reason is null then room_id end as room_id,
    case when rejection_reason is null then reading_at end as reading_at,
    case when rejection_reason is null then temperature_c end as temperature_c,
    case when rejection_reason is null then {{ eventlake.event_date('reading_at') }} end as event_date,
    {%- for part in ['year', 'month', 'day', 'hour'] %}
    case
        when rejection_reason is null then {{ eventlake.date_part_int(part, 'reading_at') }}
    end as event_{{ part }},
    {%- endfor %}
    rejection_reason,
    line as raw_line,
    source_file,
    line_occurrence,
    landed_at,
    {{ eventlake.staged_at_value() }} as staged_at
from checked
{%- endmacro %}


{#-
    The rank of a temperature line among the accepted lines claiming the same (room, reading
    time): 1 is the reading kept. One rule, used by int_temperature_readings_deduplicated (the
    winner) and int_temperature_reading_conflicts (what lost):
      1. the feed: live Firehose, then the database extract, then historical files (feed_priority);
      2. within a feed the latest landing wins (landed_at: a re-sent correction replaces the first);
      3. then the later object name (Firehose names sort by processing time);
      4. inside one object (no engine gives a line's position) the higher temperature, then the
         higher line occurrence and the line key, which only choose among identical copies.
-#}
{% macro temperature_claim_rank() -%}
    row_number() over (
        partition by room_id, reading_at, event_date
        order by
            feed_priority asc,
            landed_at desc,
            source_file desc,
            temperature_c desc,
            line_occurrence desc,
            reading_line_id desc
    )
{%- endmacro %}
