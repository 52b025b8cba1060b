-- Conflicting duplicates: one row per (room, reading time) whose accepted claims carry more than
-- one temperature. The winner is ranked by the same rule as int_temperature_readings_deduplicated
-- (eventlake.temperature_claim_rank); this model keeps what the rule discarded so nothing vanishes
-- unreported. Only the claims of conflicting readings are ranked (a small share of all lines).

with

claims as (

    select * from {{ ref('int_temperature_readings_unioned') }}

),

-- one row per distinct value a reading was claimed with
claimed_values as (

    select
        room_id,
        reading_at,
        event_date,
        temperature_c,
        count(*) as line_count
    from claims
    group by room_id, reading_at, event_date, temperature_c

),

conflicted as (

    select
        room_id,
        reading_at,
        event_date,
        count(*) as distinct_value_count,
        sum(line_count) as claim_count
    from claimed_values
    group by room_id, reading_at, event_date
    having count(*) > 1

),

conflicting_lines as (

    select
        claims.reading_line_id,
        claims.feed,
        claims.feed_priority,
        claims.room_id,
        claims.reading_at,
        claims.event_date,
        claims.temperature_c,
        claims.source_file,
        claims.line_occurrence,
        claims.landed_at
    from claims
    inner join conflicted
        on
            claims.room_id = conflicted.room_id
            and claims.reading_at = conflicted.reading_at

),

conflicting_claims as (

    select
        *,
        {{ eventlake.temperature_claim_rank() }} as claim_rank
    from conflicting_lines

),

winners as (

    select * from conflicting_claims
    where claim_rank = 1

),

-- the claims whose value lost, and how many came from the winner's own feed
losers as (

    select
        conflicting_claims.room_id,
        conflicting_claims.reading_at,
        count(*) as losing_line_count,
        sum(case when conflicting_claims.feed = winners.feed then 1 else 0 end)
            as losing_lines_in_winning_feed
    from conflicting_claims
    inner join winners
        on
            conflicting_claims.room_id = winners.room_id
            and conflicting_claims.reading_at = winners.reading_at
    where conflicting_claims.temperature_c <> winners.temperature_c
    group by conflicting_claims.room_id, conflicting_claims.reading_at

),

losing_values as (

    select
        claimed_values.room_id,
        claimed_values.reading_at,
        {{ dbt.listagg(
            dbt.cast('cast(claimed_values.temperature_c as decimal(9, 3))', dbt.type_string()),
            "', '",
            'order by claimed_values.temperature_c',
        ) }} as losing_temperatures_c
    from claimed_values
    inner join winners
        on
            claimed_values.room_id = winners.room_id
            and claimed_values.reading_at = winners.reading_at
    where claimed_values.temperature_c <> winners.temperature_c
    group by claimed_values.room_id, claimed_values.reading_at

)

select
    {{ dbt.hash(dbt.concat(['winners.room_id', "'|'", dbt.cast('winners.reading_at', dbt.type_string())])) }}
        as reading_id,
    conflicted.room_id,
    conflicted.reading_at,
    conflicted.event_date,
    conflicted.claim_count,
    conflicted.distinct_value_count,
    winners.temperature_c as winning_temperature_c,
    winners.feed as winning_feed,
    winners.reading_line_id as winning_reading_line_id,
    winners.source_file as winning_source_file,
    winners.landed_at as winning_landed_at,
    losing_values.losing_temperatures_c,
    losers.losing_line_count,
    case
        when losers.losing_lines_in_winning_feed > 0 then 'within_feed' else 'between_feeds'
    end as conflict_kind
from conflicted
inner join winners
    on
        conflicted.room_id = winners.room_id
        and conflicted.reading_at = winners.reading_at
inner join losers
    on
        conflicted.room_id = losers.room_id
        and conflicted.reading_at = losers.reading_at
inner join losing_values
    on
        conflicted.room_id = losing_values.room_id
        and conflicted.reading_at = losing_values.reading_at
