{{ config(materialized='view') }}

-- The registered detectors the traffic facts join to: marts read intermediate models, and the
-- registry (seed traffic_locations and the data folder's file) is staged by
-- stg_device_registry__traffic_locations.

with

registered as (

    select * from {{ ref('stg_device_registry__traffic_locations') }}

)

select
    location_id,
    segment_id,
    road,
    direction,
    lane,
    latitude,
    longitude,
    retired_at,
    registered_in
from registered
