{#-
    Timestamps and their parts. Every timestamp in the project is UTC without a time zone
    (Athena's Parquet tables and Redshift's TIMESTAMP both store it that way).
-#}

{#- Parse 'YYYY-MM-DD HH:MM:SS' strictly; anything else (or an impossible date) gives NULL. -#}
{% macro try_parse_timestamp(text_expr) -%}
    {{ return(adapter.dispatch('try_parse_timestamp', 'eventlake')(text_expr)) }}
{%- endmacro %}

{% macro default__try_parse_timestamp(text_expr) -%}
    case
        when regexp_full_match({{ text_expr }}, '\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}')
            and left({{ text_expr }}, 4) <> '0000'
            then try_strptime({{ text_expr }}, '%Y-%m-%d %H:%M:%S')
    end
{%- endmacro %}

{% macro athena__try_parse_timestamp(text_expr) -%}
    case
        when regexp_like({{ text_expr }}, '^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$')
            and substr({{ text_expr }}, 1, 4) <> '0000'
            then try(date_parse({{ text_expr }}, '%Y-%m-%d %H:%i:%s'))
    end
{%- endmacro %}

{#- Redshift has no TRY, and its to_timestamp accepts overflow (2026-04-31 becomes 2026-05-01):
    the pattern rules out impossible fields, calendar_date_is_valid the day past the month's end,
    and only then is the text cast. Nested CASEs, so the cast never sees a rejected text. -#}
{% macro redshift__try_parse_timestamp(text_expr) -%}
    case
        when {{ text_expr }} ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$'
            then case
                when {{ eventlake.calendar_date_is_valid(text_expr) }}
                    then cast({{ text_expr }} as timestamp)
            end
    end
{%- endmacro %}


{#- True when the 'YYYY-MM-DD' at the start of a text that already matched a strict pattern
    (month 01-12, day 01-31) names a real day: year 0001 or later, and the day within the
    month's length, leap years included. For engines without a TRY (Redshift); plain SQL that
    every engine runs the same way. -#}
{% macro calendar_date_is_valid(text_expr) -%}
    {%- set year = 'cast(substr(' ~ text_expr ~ ', 1, 4) as integer)' -%}
    (
        {{ year }} >= 1
        and cast(substr({{ text_expr }}, 9, 2) as integer) <= case cast(substr({{ text_expr }}, 6, 2) as integer)
            when 2 then case
                when mod({{ year }}, 4) = 0 and (mod({{ year }}, 100) <> 0 or mod({{ year }}, 400) = 0) then 29
                else 28
            end
            when 4 then 30
            when 6 then 30
            when 9 then 30
            when 11 then 30
            else 31
        end
    )
{%- endmacro %}


{#- The landing time Firehose writes into every object name (...-YYYY-MM-DD-HH-MM-SS-<id>); for
    objects named otherwise (Spark's part-* files from the Glue job) the YYYY/MM/DD/HH prefix. -#}
{% macro landed_at_from_object_name(path_expr) -%}
    {{ return(adapter.dispatch('landed_at_from_object_name', 'eventlake')(path_expr)) }}
{%- endmacro %}

{% macro default__landed_at_from_object_name(path_expr) -%}
    coalesce(
        try_strptime(
            regexp_extract({{ path_expr }}, '-(\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})-[^/]*$', 1),
            '%Y-%m-%d-%H-%M-%S'
        ),
        try_strptime(regexp_extract({{ path_expr }}, '/(\d{4}/\d{2}/\d{2}/\d{2})/[^/]*$', 1), '%Y/%m/%d/%H')
    )
{%- endmacro %}

{% macro athena__landed_at_from_object_name(path_expr) -%}
    coalesce(
        try(date_parse(
            regexp_extract({{ path_expr }}, '-(\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})-[^/]*$', 1),
            '%Y-%m-%d-%H-%i-%s'
        )),
        try(date_parse(regexp_extract({{ path_expr }}, '/(\d{4}/\d{2}/\d{2}/\d{2})/[^/]*$', 1), '%Y/%m/%d/%H'))
    )
{%- endmacro %}

{% macro redshift__landed_at_from_object_name(path_expr) -%}
    coalesce(
        to_timestamp(
            nullif(regexp_substr({{ path_expr }}, '-([0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2}-[0-9]{2})-[^/]*$', 1, 1, 'e'), ''),
            'YYYY-MM-DD-HH24-MI-SS'
        ),
        to_timestamp(
            nullif(regexp_substr({{ path_expr }}, '/([0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2})/[^/]*$', 1, 1, 'e'), ''),
            'YYYY/MM/DD/HH24'
        )
    )::timestamp
{%- endmacro %}


{#- Event-time partition columns, one spelling per engine. -#}
{% macro event_date(ts) -%}
    {{ return(adapter.dispatch('event_date', 'eventlake')(ts)) }}
{%- endmacro %}

{% macro default__event_date(ts) -%}
    cast({{ ts }} as date)
{%- endmacro %}

{% macro athena__event_date(ts) -%}
    date({{ ts }})
{%- endmacro %}

{% macro redshift__event_date(ts) -%}
    trunc({{ ts }})
{%- endmacro %}


{% macro date_part_int(part, ts) -%}
    {{ return(adapter.dispatch('date_part_int', 'eventlake')(part, ts)) }}
{%- endmacro %}

{% macro default__date_part_int(part, ts) -%}
    cast(extract({{ part }} from {{ ts }}) as integer)
{%- endmacro %}

{% macro redshift__date_part_int(part, ts) -%}
    cast(date_part({{ part }}, {{ ts }}) as integer)
{%- endmacro %}


{% macro epoch_seconds_between(start_ts, end_ts) -%}
    {{ return(adapter.dispatch('epoch_seconds_between', 'eventlake')(start_ts, end_ts)) }}
{%- endmacro %}

{% macro default__epoch_seconds_between(start_ts, end_ts) -%}
    date_diff('second', {{ start_ts }}, {{ end_ts }})
{%- endmacro %}

{% macro redshift__epoch_seconds_between(start_ts, end_ts) -%}
    datediff(second, {{ start_ts }}, {{ end_ts }})
{%- endmacro %}


{#- A UTC timestamp from whole or fractional seconds since the Unix epoch. -#}
{% macro epoch_seconds_to_timestamp(seconds) -%}
    {{ return(adapter.dispatch('epoch_seconds_to_timestamp', 'eventlake')(seconds)) }}
{%- endmacro %}

{% macro default__epoch_seconds_to_timestamp(seconds) -%}
    make_timestamp(cast({{ seconds }} * 1000000 as bigint))
{%- endmacro %}

{% macro athena__epoch_seconds_to_timestamp(seconds) -%}
    cast(from_unixtime({{ seconds }}) as timestamp)
{%- endmacro %}

{% macro redshift__epoch_seconds_to_timestamp(seconds) -%}
    (timestamp 'epoch' + {{ seconds }} * interval '1 second')
{%- endmacro %}


{#- The wall-clock time in an IANA zone (e.g. Europe/Brussels, daylight saving included) of a
    UTC timestamp, as a timestamp without zone. -#}
{% macro utc_to_local(ts, zone) -%}
    {{ return(adapter.dispatch('utc_to_local', 'eventlake')(ts, zone)) }}
{%- endmacro %}

{% macro default__utc_to_local(ts, zone) -%}
    (({{ ts }} at time zone 'UTC') at time zone '{{ zone }}')
{%- endmacro %}

{% macro athena__utc_to_local(ts, zone) -%}
    cast(at_timezone(with_timezone({{ ts }}, 'UTC'), '{{ zone }}') as timestamp)
{%- endmacro %}

{% macro redshift__utc_to_local(ts, zone) -%}
    convert_timezone('UTC', '{{ zone }}', {{ ts }})
{%- endmacro %}


{#- Parse an ISO 8601 UTC instant 'YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z' strictly (the FDSN/EMSC event
    time); anything else, an impossible date included, gives NULL. -#}
{% macro try_parse_iso8601_utc(text_expr) -%}
    {{ return(adapter.dispatch('try_parse_iso8601_utc', 'eventlake')(text_expr)) }}
{%- endmacro %}

{% macro default__try_parse_iso8601_utc(text_expr) -%}
    case
        when regexp_full_match({{ text_expr }}, '\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z')
            and left({{ text_expr }}, 4) <> '0000'
            then try_strptime(
                rtrim({{ text_expr }}, 'Z'), ['%Y-%m-%dT%H:%M:%S.%f', '%Y-%m-%dT%H:%M:%S']
            )
    end
{%- endmacro %}

{% macro athena__try_parse_iso8601_utc(text_expr) -%}
    case
        when regexp_like({{ text_expr }}, '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$')
            and substr({{ text_expr }}, 1, 4) <> '0000'
            then cast(try(from_iso8601_timestamp({{ text_expr }})) at time zone 'UTC' as timestamp)
    end
{%- endmacro %}

{#- Redshift has no TRY, and a cast of an impossible date fails the whole query: as for
    try_parse_timestamp, the pattern and calendar_date_is_valid rule out impossible fields first. -#}
{% macro redshift__try_parse_iso8601_utc(text_expr) -%}
    case
        when {{ text_expr }} ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,6})?Z$'
            then case
                when {{ eventlake.calendar_date_is_valid(text_expr) }}
                    then cast(replace(replace({{ text_expr }}, 'T', ' '), 'Z', '') as timestamp)
            end
    end
{%- endmacro %}
