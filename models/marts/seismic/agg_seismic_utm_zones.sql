{#-
    The subduction-zone map's dataset (the seed's "Aggregate to UTM ref" and depth NTILE): one
    row per UTM zone and latitude band with events, sized by the event count, placed at the
    events' average latitude/longitude and coloured by the depth quartile, NTILE(4) over the
    average depth (4 = deepest). Events outside UTM's range (polar, UPS) belong to no zone and
    are left out. A table: the quartiles rank every zone against all others, so any new event
    can move every zone's quartile; the whole aggregate is one cheap pass over the fact.
    Averages are exact sums rounded to 1e-6 (macros/exact_aggregates.sql): a parallel float sum
    adds in no fixed order, and two builds of the same data must not differ.
-#}
{{ config(materialized='table', **eventlake.physical_layout(dist='all', sort=['utm_zone', 'utm_band'])) }}

with

events as (

    select * from {{ ref('fct_seismic_events') }}
    where not is_outside_utm

),

zones as (

    select
        utm_zone,
        utm_band,
        count(*) as event_count,
        {{ eventlake.exact_avg('depth_km') }} as avg_depth_km,
        min(depth_km) as min_depth_km,
        max(depth_km) as max_depth_km,
        {{ eventlake.exact_avg('magnitude') }} as avg_magnitude,
        {{ eventlake.exact_avg('latitude') }} as avg_latitude,
        {{ eventlake.exact_avg('longitude') }} as avg_longitude,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at
    from events
    group by utm_zone, utm_band

)

select
    {{ dbt.concat([dbt.cast('utm_zone', dbt.type_string()), 'utm_band']) }} as utm_zone_band,
    utm_zone,
    utm_band,
    event_count,
    avg_depth_km,
    min_depth_km,
    max_depth_km,
    avg_magnitude,
    avg_latitude,
    avg_longitude,
    cast(ntile(4) over (order by avg_depth_km, utm_zone, utm_band) as integer) as depth_quartile,
    first_event_at,
    last_event_at
from zones
