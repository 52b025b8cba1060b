-- Reconciliation of the traffic feed: lines landed = measurements accepted + lines quarantined.
-- Returns a row when the three counts disagree.

with

landed as (
    select count(*) as lines_landed
    from {{ source('traffic_firehose', 'measurements') }}
),

accepted as (
    select count(*) as rows_accepted
    from {{ ref('stg_traffic_firehose__measurements') }}
    where rejection_reason is null
),

quarantined as (
    select count(*) as rows_quarantined
    from {{ ref('quarantine_rejected_rows') }}
    where feed = 'traffic_firehose'
)

select
    landed.lines_landed,
    accepted.rows_accepted,
    quarantined.rows_quarantined
from landed
cross join accepted
cross join quarantined
where landed.lines_landed <> accepted.rows_accepted + quarantined.rows_quarantined
