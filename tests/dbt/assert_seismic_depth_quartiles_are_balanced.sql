-- NTILE(4) puts every zone in a quartile and the quartiles' sizes differ by at most one; with
-- four or more zones every quartile 1-4 is used, and deeper quartiles never hold shallower
-- average depths. Returns a row per violation.

with

zones as (

    select * from {{ ref('agg_seismic_utm_zones') }}

),

quartiles as (

    select
        depth_quartile,
        count(*) as zones_in_quartile,
        min(avg_depth_km) as shallowest,
        max(avg_depth_km) as deepest
    from zones
    group by depth_quartile

),

overall as (

    select
        count(*) as zone_count,
        sum(case when depth_quartile is null then 1 else 0 end) as unranked
    from zones

),

sizes as (

    select
        max(zones_in_quartile) - min(zones_in_quartile) as size_spread,
        count(*) as quartiles_used
    from quartiles

),

ordering as (

    select count(*) as inversions
    from quartiles as lower_quartile
    inner join quartiles as upper_quartile
        on upper_quartile.depth_quartile = lower_quartile.depth_quartile + 1
    where upper_quartile.shallowest < lower_quartile.deepest

)

select
    overall.zone_count,
    overall.unranked,
    sizes.size_spread,
    sizes.quartiles_used,
    ordering.inversions
from overall
cross join sizes
cross join ordering
where
    overall.unranked > 0
    or sizes.size_spread > 1
    or (overall.zone_count >= 4 and sizes.quartiles_used <> 4)
    or ordering.inversions > 0
