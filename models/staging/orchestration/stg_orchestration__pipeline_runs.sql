{{ config(materialized='view') }}

-- Every attempt of `eventlake run` as recorded (a view: the records are few and append-only).

with

source as (

    select * from {{ source('orchestration', 'pipeline_runs') }}

),

renamed as (

    select
        attempt_id,
        run_id,
        attempt,
        started_at,
        finished_at,
        outcome,
        forced,
        resumed_at_step,
        failed_step,
        error,
        new_raw_objects,
        duration_seconds,
        steps_run,
        steps_skipped,
        steps,
        landed_at
    from source

)

select * from renamed
