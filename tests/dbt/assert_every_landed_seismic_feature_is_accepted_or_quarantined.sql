-- Reconciliation for the seismic feed: features landed (counted from the raw lines themselves)
-- plus lines that are not a FeatureCollection, or are one but rejected whole (not strict JSON,
-- a repeated key; an unreadable object is one such row) = features accepted + rows quarantined.
-- Returns a row when the counts disagree.

with

lines as (

    select
        {{ eventlake.json_parse_safe('line') }} as doc,
        {{ eventlake.json_strictness_reason('line') }} as json_violation
    from {{ source('seismic', 'events') }}

),

landed as (

    select
        coalesce(sum(
            case
                when
                    {{ eventlake.json_field_is_array('doc', 'features') }}
                    and coalesce(json_violation, 'non_finite_number') = 'non_finite_number'
                    and not {{ eventlake.json_duplicate_key('doc') }}
                    then {{ eventlake.json_array_size('doc', 'features') }}
                else 1
            end
        ), 0) as rows_landed
    from lines

),

accepted as (

    select count(*) as rows_accepted
    from {{ ref('int_seismic_event_versions') }}

),

quarantined as (

    select count(*) as rows_quarantined
    from {{ ref('quarantine_rejected_rows') }}
    where feed = 'seismic_events'

)

select
    landed.rows_landed,
    accepted.rows_accepted,
    quarantined.rows_quarantined
from landed
cross join accepted
cross join quarantined
where landed.rows_landed <> accepted.rows_accepted + quarantined.rows_quarantined
