{{ config(materialized='view') }}

-- The traffic detectors (measurement locations) as the models use them: the seed's demo defaults
-- and the registry file in the data folder, one row per location, the file's values winning column
-- by column (eventlake.registered_traffic_locations; the traffic staging check uses the same one).

{{ eventlake.registered_traffic_locations() }}
