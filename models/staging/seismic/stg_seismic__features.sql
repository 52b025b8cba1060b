{#-
    One row per landed feature of the seismic feed: each daily FeatureCollection line is
    flattened (eventlake.flatten_json_array: DuckDB unnest, Athena CROSS JOIN UNNEST, Redshift
    SUPER navigation) and every feature is cast, or gets the first failed check of the `seismic`
    domain in seeds/quarantine_reasons.csv. A line that is not a FeatureCollection (broken JSON,
    no features array) is one row with its reason, so features landed (plus such lines) =
    accepted + quarantined, tested. Latitude, longitude come from the GeoJSON geometry (the
    authoritative position), depth and magnitude from the properties.
    No de-duplication here: the same event re-appears in later files; the intermediate layer
    keeps its latest version. Incremental like every staging model: only unstaged objects.
-#}
{%- set new_objects = eventlake.unstaged_objects(source('seismic', 'events'), this)
    if eventlake.incremental_run() else none -%}
{%- set numeric_paths = [
    'geometry.coordinates[0]', 'geometry.coordinates[1]', 'properties.depth', 'properties.mag'
] -%}
{%- set non_finite_text = [] -%}
{%- for path in numeric_paths -%}
    {%- do non_finite_text.append(eventlake.json_record_non_finite('record', path)) -%}
{%- endfor -%}
{%- set fields = {
    'id': 'text',
    'geometry.coordinates[0]': 'number',
    'geometry.coordinates[1]': 'number',
    'properties.depth': 'number',
    'properties.mag': 'number',
    'properties.time': 'text',
    'properties.lastupdate': 'text',
    'properties.magtype': 'text',
    'properties.evtype': 'text',
    'properties.auth': 'text',
    'properties.flynn_region': 'text',
    'properties.source_id': 'text',
    'properties.source_catalog': 'text',
    'properties.unid': 'text',
} -%}

with

source as (

    {{ eventlake.raw_lines(source('seismic', 'events'), new_objects) }}

),

hashed as (

    select
        *,
        -- an empty object is one row with a null line: hash the empty string, never null
        {{ dbt.hash("coalesce(line, '')") }} as line_hash
    from source

),

collections as (

    -- identical lines in one object are indistinguishable: any numbering keeps keys stable
    select
        source_file,
        landed_at,
        line,
        line_hash,
        read_error,
        row_number() over (partition by source_file, line_hash order by source_file) as line_occurrence,
        {{ eventlake.json_parse_safe('line') }} as doc
    from hashed

),

checked_collections as (

    -- the checks in check_order (the reader's, empty_line, strict JSON, invalid_json,
    -- duplicate_key, missing_features_array); a JSON object is never blank, so only lines that
    -- are not one are trimmed (a copy of a long line). A non-finite number is left to the
    -- feature that holds it, so one bad feature does not take its collection's valid ones along.
    select
        *,
        case
            when read_error is not null then read_error
            when line is null then 'empty_line'
            when not {{ eventlake.json_is_object('doc') }} and trim(line) = '' then 'empty_line'
            when coalesce(json_violation, 'non_finite_number') <> 'non_finite_number' then json_violation
            when not {{ eventlake.json_is_object('doc') }} then 'invalid_json'
            when {{ eventlake.json_duplicate_key('doc') }} then 'duplicate_key'
            when not {{ eventlake.json_field_is_array('doc', 'features') }} then 'missing_features_array'
        end as collection_rejection_reason
    from (
        select
            *,
            {{ eventlake.json_strictness_reason('line') }} as json_violation
        from collections
    ) as strictness

),

flattenable_collections as (

    -- a line rejected whole (a trailing comma, a repeated key) is one row, never its features
    select * from checked_collections
    where collection_rejection_reason is null

),

features as (

    {{ eventlake.flatten_json_array(
        'flattenable_collections', 'doc', 'features',
        ['source_file', 'landed_at', 'line_hash', 'line_occurrence']
    ) }}

),

parsed as (

    select
        *,
        {{ eventlake.json_record('element', fields) }} as record
    from features

),

fields as (

    select
        source_file,
        landed_at,
        line_hash,
        line_occurrence,
        element_index,
        {{ eventlake.json_to_text('element') }} as raw_feature,
        {{ eventlake.json_element_is_object('element') }} as is_json_object,
        {{ eventlake.json_record_text('record', 'id') }} as event_id,
        {{ eventlake.json_record_is_text_or_number('record', 'id') }} as is_event_id_text_or_number,
        {{ non_finite_text | join(' or ') }} as has_non_finite_text,
        case
            when {{ eventlake.json_element_is_object('element') }}
                then
                    {{ eventlake.json_duplicate_key('element', ['$', '$.properties', '$.geometry']) }}
            else false
        end as has_duplicate_key,
        {{ eventlake.json_record_number('record', 'geometry.coordinates[0]') }} as longitude,
        {{ eventlake.json_record_number('record', 'geometry.coordinates[1]') }} as latitude,
        {{ eventlake.json_record_number('record', 'properties.depth') }} as depth_km,
        {{ eventlake.json_record_number('record', 'properties.mag') }} as magnitude,
        {{ eventlake.json_record_text('record', 'properties.time') }} as event_at_text,
        {{ eventlake.json_record_text('record', 'properties.lastupdate') }} as last_updated_at_text,
        {{ eventlake.json_record_text('record', 'properties.magtype') }} as magnitude_type,
        {{ eventlake.json_record_text('record', 'properties.evtype') }} as event_type,
        {{ eventlake.json_record_text('record', 'properties.auth') }} as authority,
        {{ eventlake.json_record_text('record', 'properties.flynn_region') }} as flynn_region,
        {{ eventlake.json_record_text('record', 'properties.source_id') }} as source_event_id,
        {{ eventlake.json_record_text('record', 'properties.source_catalog') }} as source_catalog,
        {{ eventlake.json_record_text('record', 'properties.unid') }} as emsc_unid
    from parsed

),

typed as (

    select
        *,
        {{ eventlake.try_parse_iso8601_utc('event_at_text') }} as event_at,
        {{ eventlake.try_parse_iso8601_utc('last_updated_at_text') }} as last_updated_at
    from fields

),

checked_features as (

    select
        *,
        case
            when not is_json_object then 'feature_not_an_object'
            when has_duplicate_key then 'duplicate_key'
            -- NaN/Infinity as written, or a number beyond a double (1e400 reads as infinity)
            when
                has_non_finite_text
                or not coalesce({{ eventlake.json_finite('longitude') }}, true)
                or not coalesce({{ eventlake.json_finite('latitude') }}, true)
                or not coalesce({{ eventlake.json_finite('depth_km') }}, true)
                or not coalesce({{ eventlake.json_finite('magnitude') }}, true)
                then 'non_finite_number'
            when not is_event_id_text_or_number then 'event_id_not_text_or_number'
            when event_id is null or trim(event_id) = '' then 'missing_event_id'
            when longitude is null or latitude is null then 'missing_coordinates'
            when latitude < -90 or latitude > 90 then 'latitude_out_of_range'
            when longitude < -180 or longitude > 180 then 'longitude_out_of_range'
            when depth_km is null then 'depth_not_numeric'
            when magnitude is null then 'magnitude_not_numeric'
            when
                depth_km < {{ var('seismic_min_depth_km') }} or depth_km > {{ var('seismic_max_depth_km') }}
                then 'depth_out_of_range'
            when
                magnitude < {{ var('seismic_min_magnitude') }}
                or magnitude > {{ var('seismic_max_magnitude') }}
                then 'magnitude_out_of_range'
            when event_at is null then 'time_unparseable'
            when last_updated_at is null then 'lastupdate_unparseable'
        end as rejection_reason
    from typed

),

feature_rows as (

    select
        source_file,
        landed_at,
        line_hash,
        line_occurrence,
        element_index as feature_index,
        rejection_reason,
        case when rejection_reason is not null then raw_feature end as raw_line,
        event_id,
        event_at,
        last_updated_at,
        latitude,
        longitude,
        depth_km,
        magnitude,
        magnitude_type,
        event_type,
        authority,
        flynn_region,
        source_event_id,
        source_catalog,
        emsc_unid
    from checked_features

),

collection_rows as (

    -- a line that is not a FeatureCollection: one row, the line kept whole for inspection
    select
        source_file,
        landed_at,
        line_hash,
        line_occurrence,
        0 as feature_index,
        collection_rejection_reason as rejection_reason,
        line as raw_line,
        cast(null as {{ dbt.type_string() }}) as event_id,
        cast(null as {{ dbt.type_timestamp() }}) as event_at,
        cast(null as {{ dbt.type_timestamp() }}) as last_updated_at,
        cast(null as {{ eventlake.type_double() }}) as latitude,
        cast(null as {{ eventlake.type_double() }}) as longitude,
        cast(null as {{ eventlake.type_double() }}) as depth_km,
        cast(null as {{ eventlake.type_double() }}) as magnitude,
        cast(null as {{ dbt.type_string() }}) as magnitude_type,
        cast(null as {{ dbt.type_string() }}) as event_type,
        cast(null as {{ dbt.type_string() }}) as authority,
        cast(null as {{ dbt.type_string() }}) as flynn_region,
        cast(null as {{ dbt.type_string() }}) as source_event_id,
        cast(null as {{ dbt.type_string() }}) as source_catalog,
        cast(null as {{ dbt.type_string() }}) as emsc_unid
    from checked_collections
    where collection_rejection_reason is not null

),

unioned as (

    select * from feature_rows
    union all
    select * from collection_rows

)

select
    {{ dbt.hash(dbt.concat([
        "'seismic_events|'", 'source_file', "'|'", 'line_hash', "'|'",
        dbt.cast('line_occurrence', dbt.type_string()), "'|'", dbt.cast('feature_index', dbt.type_string())
    ])) }} as feature_line_id,
    cast('seismic_events' as {{ dbt.type_string() }}) as feed,
    feature_index,
    case when rejection_reason is null then event_id end as event_id,
    case when rejection_reason is null then event_at end as event_at,
    case when rejection_reason is null then last_updated_at end as last_updated_at,
    case when rejection_reason is null then {{ eventlake.event_date('event_at') }} end as event_date,
    case when rejection_reason is null then latitude end as latitude,
    case when rejection_reason is null then longitude end as longitude,
    case when rejection_reason is null then depth_km end as depth_km,
    case when rejection_reason is null then magnitude end as magnitude,
    case when rejection_reason is null then magnitude_type end as magnitude_type,
    case when rejection_reason is null then event_type end as event_type,
    case when rejection_reason is null then authority end as authority,
    case when rejection_reason is null then flynn_region end as flynn_region,
    case when rejection_reason is null then source_event_id end as source_event_id,
    case when rejection_reason is null then source_catalog end as source_catalog,
    case when rejection_reason is null then emsc_unid end as emsc_unid,
    rejection_reason,
    raw_line,
    source_file,
    line_occurrence,
    landed_at,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }}) as staged_at
from unioned
