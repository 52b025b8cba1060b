-- Every event with its UTM position (zone, band, hemisphere, easting, northing; WGS84), from
-- the plain-SQL Krüger projection in macros/utm.sql that runs the same on every engine. Events
-- north of 84N or south of 80S are flagged is_outside_utm with null UTM columns.
{%- set columns = [
    'event_id', 'event_at', 'last_updated_at', 'event_date', 'latitude', 'longitude', 'depth_km',
    'magnitude', 'magnitude_type', 'event_type', 'authority', 'flynn_region', 'source_event_id',
    'source_catalog', 'version_count', 'feature_line_id', 'source_file', 'landed_at',
] %}

with

events as (

    select * from {{ ref('int_seismic_events_deduplicated') }}

),

{{ eventlake.utm_ctes('events', 'latitude', 'longitude', columns) }}

select
    event_id,
    event_at,
    last_updated_at,
    event_date,
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
    version_count,
    feature_line_id,
    source_file,
    landed_at,
    utm_zone,
    utm_band,
    utm_hemisphere,
    -- millimetres: the projection is good to nanometres, the locations to hundreds of metres
    round(utm_easting_m, 3) as utm_easting_m,
    round(utm_northing_m, 3) as utm_northing_m,
    is_outside_utm
from utm_projected
