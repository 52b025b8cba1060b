{{ config(materialized='view') }}

-- The room registry as the models use it: the seed's demo defaults and the registry file in the
-- data folder, one row per room, the file's values winning column by column
-- (eventlake.registered_rooms; the temperature staging checks use the same definition).

{{ eventlake.registered_rooms() }}
