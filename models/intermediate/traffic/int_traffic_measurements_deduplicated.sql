-- One row per location and measurement time. Firehose delivers at least once, so the same
-- measurement can land more than once; the first landing wins, then the object name, then the
-- line, so the winner is the same on every run.

with

accepted as (

    select * from {{ ref('stg_traffic_firehose__measurements') }}
    where rejection_reason is null

),

ranked as (

    -- measured_hour is implied by measured_at; partitioning by it too lets an engine push an
    -- hour filter from a caller below this window
    select
        *,
        row_number() over (
            partition by location_id, measured_hour, measured_at
            order by landed_at, source_file, line_occurrence, measurement_line_id
        ) as claim_rank,
        count(*) over (partition by location_id, measured_hour, measured_at) as claim_count
    from accepted

)

select
    {{ dbt.hash(dbt.concat([
        dbt.cast('location_id', dbt.type_string()), "'|'", dbt.cast('measured_at', dbt.type_string())
    ])) }} as measurement_id,
    location_id,
    measured_at,
    measured_at_local,
    measured_hour,
    {%- for class in [2, 3, 4, 5] %}
        speed_class{{ class }}_kmh,
        speed_class{{ class }}_no_data_code,
    {%- endfor %}
    {%- for class in [2, 3, 4, 5] %}
        vehicles_class{{ class }},
    {%- endfor %}
    occupancy_pct,
    is_occupancy_unknown,
    claim_count,
    measurement_line_id,
    landed_at,
    staged_at
from ranked
where claim_rank = 1
