-- Every accepted version of every event (one per feature landed), with the latest staging time
-- among the event's versions: an incremental fact rebuilds the event dates of every version of
-- an event that received a new version, so an event whose revised time crosses midnight leaves
-- its old partition.

with

features as (

    select * from {{ ref('stg_seismic__features') }}
    where rejection_reason is null

)

select
    feature_line_id,
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
    source_file,
    landed_at,
    staged_at,
    max(staged_at) over (partition by event_id) as event_last_staged_at
from features
