{#-
    One row per seismic event (its latest revision), UTM-enriched, partitioned by the event's
    UTC date. Incremental: the feed re-delivers revised events in later daily files, so a run
    rebuilds the event dates of every version of each event that got a new version since the
    last run (late revisions land in their old partition, and an event whose revised time moves
    to another day leaves the old one); equal to a full refresh.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy=eventlake.partition_overwrite_strategy(),
    unique_key='event_date',
    on_schema_change='fail',
    **eventlake.physical_layout(
        partition_by=['event_date'], dist='event_id', sort=['event_date', 'event_at']
    )
) }}

{%- set touched_dates = eventlake.partitions_to_rebuild(
    ref('int_seismic_event_versions'), 'event_date', staged_column='event_last_staged_at'
) if eventlake.incremental_run() else [] -%}

with

events as (

    select * from {{ ref('int_seismic_events_projected_to_utm') }}
    {%- if eventlake.incremental_run() %}
        where {{ eventlake.is_one_of('event_date', touched_dates, 'date') }}
    {%- endif %}

),

staged as (

    select max(staged_at) as staged_through
    from {{ ref('int_seismic_event_versions') }}

)

select
    events.event_id,
    events.event_at,
    events.last_updated_at,
    events.latitude,
    events.longitude,
    events.depth_km,
    events.magnitude,
    events.magnitude_type,
    events.event_type,
    events.authority,
    events.flynn_region,
    events.source_event_id,
    events.source_catalog,
    events.utm_zone,
    events.utm_band,
    events.utm_hemisphere,
    events.utm_easting_m,
    events.utm_northing_m,
    events.is_outside_utm,
    events.version_count,
    events.feature_line_id,
    events.landed_at,
    staged.staged_through as _staged_through,
    cast('{{ invocation_id }}' as {{ dbt.type_string() }}) as _dbt_invocation_id,
    events.event_date
from events
cross join staged
