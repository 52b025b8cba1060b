-- Every event inside UTM's range is counted in exactly one zone and band of the map: the zones'
-- event counts add up to the fact's events, per zone and band and in total.

with

events as (

    select
        utm_zone,
        utm_band,
        count(*) as events
    from {{ ref('fct_seismic_events') }}
    where not is_outside_utm
    group by utm_zone, utm_band

),

zones as (

    select
        utm_zone,
        utm_band,
        event_count
    from {{ ref('agg_seismic_utm_zones') }}

)

select
    coalesce(events.utm_zone, zones.utm_zone) as utm_zone,
    coalesce(events.utm_band, zones.utm_band) as utm_band,
    events.events,
    zones.event_count
from events
full outer join zones
    on events.utm_zone = zones.utm_zone and events.utm_band = zones.utm_band
where events.events is null or zones.event_count is null or events.events <> zones.event_count
