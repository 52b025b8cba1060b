{#-
    Every landed line of the traffic feed, parsed and cast: location, measurement time (UTC and
    Brussels local time), speeds, vehicle counts and occupancy. The feed's no-data speed codes
    become null with the code kept beside them; occupancy -1 becomes null, flagged unknown.
    Rejected lines keep their raw text and get the first failed check of domain `traffic` in
    seeds/quarantine_reasons.csv (the last two look the location up in the device registry:
    unknown_location, then device_retired for a measurement at or after its retired_at); nothing is dropped, so landed = accepted + quarantined.
    Accepted lines do not repeat their raw text (it stays in the raw zone, keyed by source_file).
-#}
{%- set speeds = ['klasse2', 'klasse3', 'klasse4', 'klasse5'] -%}
{%- set no_data_codes = var('traffic_speed_no_data_codes') | join(', ') -%}
{%- set keys = ['unieke_id', 'tijd_waarneming', 'rekendata_bezettingsgraad'] -%}
{%- for class in speeds -%}
    {%- do keys.extend(['voertuigsnelheid_rekenkundig_' ~ class, 'verkeersintensiteit_' ~ class]) -%}
{%- endfor -%}
{%- set aliases = {'unieke_id': 'location_number', 'tijd_waarneming': 'measured_epoch'} -%}
{#- the checks that span every speed, count or measurement field, as one condition each -#}
{%- set any_missing, any_not_numeric, any_bad_speed, any_bad_count = [], [], [], [] -%}
{%- for class in speeds -%}
    {%- set speed = 'voertuigsnelheid_rekenkundig_' ~ class -%}
    {%- set count = 'verkeersintensiteit_' ~ class -%}
    {%- do any_missing.extend(['not has_' ~ speed, 'not has_' ~ count]) -%}
    {%- do any_not_numeric.extend([speed ~ ' is null', count ~ ' is null']) -%}
    {%- do any_bad_speed.append(
        '(' ~ speed ~ ' not between 0 and ' ~ var('traffic_max_valid_speed_kmh')
        ~ ' and ' ~ speed ~ ' not in (' ~ no_data_codes ~ '))'
    ) -%}
    {%- do any_bad_count.append(
        '(' ~ count ~ ' < 0 or ' ~ count ~ ' > ' ~ var('traffic_max_vehicle_count')
        ~ ' or ' ~ count ~ ' <> floor(' ~ count ~ '))'
    ) -%}
{%- endfor -%}
{%- do any_missing.append('not has_rekendata_bezettingsgraad') -%}
{#- a number that overflows a double (1e400) reads as infinity: its own reason, before any range -#}
{%- set known_keys_found = [] -%}
{%- for key in keys -%}
    {%- do known_keys_found.append('case when has_' ~ aliases.get(key, key) ~ ' then 1 else 0 end') -%}
{%- endfor -%}
{%- set any_non_finite = [] -%}
{%- for key in keys -%}
    {%- set finite = eventlake.json_finite(aliases.get(key, key)) -%}
    {%- do any_non_finite.append('not coalesce(' ~ finite ~ ', true)') -%}
{%- endfor -%}
{%- do any_not_numeric.append('rekendata_bezettingsgraad is null') -%}

with

{{ eventlake.parsed_raw_lines(source('traffic_firehose', 'measurements'), parse_doc=false) }},

extracted as (

    select
        *,
        {{ eventlake.json_parse_fields('line', keys) }} as field_values,
        {{ eventlake.json_strictness_reason('line') }} as json_violation
    from parsed

),

fields as (

    select
        source_file,
        landed_at,
        line,
        line_occurrence,
        read_error,
        json_violation,
        -- keys written (each `":`) beyond the known keys found: an unknown key or a repeated one
        {{ eventlake.json_written_key_count('line') }} as written_key_count,
        is_json_object,
        {{ eventlake.json_number_columns('field_values', keys, aliases) }}
    from extracted

),

-- the device registry (seed defaults + the data folder's file,
-- eventlake.registered_traffic_locations): at most one row per location
registry as (

    {{ eventlake.registered_traffic_locations() }}

),

located as (

    select
        fields.*,
        registry.location_id as registered_location_id,
        registry.retired_at as location_retired_at
    from fields
    left join registry
        -- the join casts every row, checked or not: bound the id first
        on
            cast(
                case
                    when fields.location_number between 1 and 9007199254740991
                        then fields.location_number
                end
                as bigint
            ) = registry.location_id

),

checked as (

    select
        *,
        case
            when read_error is not null then read_error
            -- trim copies the line, so only lines that are not JSON objects pay for it
            when not is_json_object and (line is null or trim(line) = '') then 'empty_line'
            when json_violation is not null then json_violation
            when not is_json_object then 'invalid_json'
            -- a line holding only the known keys, once each, cannot repeat one: listing the keys
            -- (a second parse) is kept for the others
            when
                case
                    when written_key_count > {{ known_keys_found | join(' + ') }}
                        then {{ eventlake.json_duplicate_key('line') }}
                    else false
                end
                then 'duplicate_key'
            when {{ any_non_finite | join(' or ') }} then 'non_finite_number'
            when not has_location_number then 'missing_location_id'
            -- the id is cast to bigint: above 2^53 a double no longer holds every whole number
            when
                location_number is null or location_number < 1
                or location_number > 9007199254740991
                or location_number <> floor(location_number)
                then 'location_id_invalid'
            when not has_measured_epoch then 'missing_measured_at'
            when
                measured_epoch is null or measured_epoch <> floor(measured_epoch)
                or measured_epoch < 946684800 or measured_epoch >= 4102444800
                then 'measured_at_invalid'
            when {{ any_missing | join(' or ') }} then 'missing_measurement_field'
            when {{ any_not_numeric | join(' or ') }} then 'measurement_not_numeric'
            when {{ any_bad_speed | join(' or ') }} then 'speed_out_of_range'
            when {{ any_bad_count | join(' or ') }} then 'vehicle_count_invalid'
            when
                rekendata_bezettingsgraad <> -1
                and rekendata_bezettingsgraad not between 0 and 100
                then 'occupancy_out_of_range'
            when
                {{ eventlake.epoch_seconds_to_timestamp('measured_epoch') }}
                > {{ dbt.dateadd('minute', var('max_clock_skew_minutes'), 'landed_at') }}
                then 'measured_at_in_future'
            when registered_location_id is null then 'unknown_location'
            when
                {{ eventlake.epoch_seconds_to_timestamp('measured_epoch') }} >= location_retired_at
                then 'device_retired'
        end as rejection_reason
    from located

),

accepted as (

    select
        *,
        case
            when rejection_reason is null then {{ eventlake.epoch_seconds_to_timestamp('measured_epoch') }}
        end as measured_at
    from checked

)

select
    {{ eventlake.raw_line_key('traffic_firehose') }} as measurement_line_id,
    cast('traffic_firehose' as {{ dbt.type_string() }}) as feed,
    case when rejection_reason is null then cast(location_number as bigint) end as location_id,
    measured_at,
    {{ eventlake.utc_to_local('measured_at', var('traffic_local_time_zone')) }} as measured_at_local,
    {{ dbt.date_trunc('hour', 'measured_at') }} as measured_hour,
    {%- for class in speeds %}
        case
            when
                rejection_reason is null
                and voertuigsnelheid_rekenkundig_{{ class }} not in ({{ no_data_codes }})
                then voertuigsnelheid_rekenkundig_{{ class }}
        end as speed_{{ class | replace('klasse', 'class') }}_kmh,
        case
            when
                rejection_reason is null
                and voertuigsnelheid_rekenkundig_{{ class }} in ({{ no_data_codes }})
                then cast(voertuigsnelheid_rekenkundig_{{ class }} as integer)
        end as speed_{{ class | replace('klasse', 'class') }}_no_data_code,
    {%- endfor %}
    {%- for class in speeds %}
        case
            when rejection_reason is null then cast(verkeersintensiteit_{{ class }} as integer)
        end as vehicles_{{ class | replace('klasse', 'class') }},
    {%- endfor %}
    case
        when rejection_reason is null and rekendata_bezettingsgraad <> -1 then rekendata_bezettingsgraad
    end as occupancy_pct,
    case when rejection_reason is null then rekendata_bezettingsgraad = -1 end as is_occupancy_unknown,
    rejection_reason,
    -- an accepted line's text stays in the raw zone; keeping it here too would double the table
    case when rejection_reason is not null then line end as raw_line,
    source_file,
    line_occurrence,
    landed_at,
    {{ eventlake.staged_at_value() }} as staged_at
from accepted
