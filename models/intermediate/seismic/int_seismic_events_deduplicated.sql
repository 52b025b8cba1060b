-- One row per event: agencies revise an event after it first appears, and each revision lands
-- again in a later daily file, so the latest `lastupdate` wins. Ties (the same revision landed
-- twice) go to the latest landing, then the object name, then the feature key: the same data
-- always gives the same winner. This is logic, so it lives here, not in staging.

with

versions as (

    select * from {{ ref('int_seismic_event_versions') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by event_id
            order by last_updated_at desc, landed_at desc, source_file desc, feature_line_id asc
        ) as version_rank,
        count(*) over (partition by event_id) as version_count
    from versions

)

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
    landed_at
from ranked
where version_rank = 1
