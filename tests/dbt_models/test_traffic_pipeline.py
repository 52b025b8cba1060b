"""The traffic feed on DuckDB: quarantine, reconciliation, and incremental == full refresh with
late measurements that land in old hour partitions (across midnight and a month end); a late
line rewrites only its own detector's (and segment's) slices of those hours."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from lakehelpers import dbt, query, relation, table_fingerprint

from ingestion.delivery.local import LocalFirehoseDelivery
from ingestion.raw_zone import RawZone
from ingestion.sensors.simulator import ArrivalOrderedRecords
from ingestion.settings import LakePaths, lake_paths
from ingestion.traffic import (
    TRAFFIC_FEED,
    TRAFFIC_STREAM,
    TrafficSimulationConfig,
    TrafficSimulationResult,
    load_locations,
    simulate_traffic,
)

pytestmark = pytest.mark.dbt

START = datetime(2026, 10, 30, 18, tzinfo=UTC)
END = datetime(2026, 11, 1, 6, tzinfo=UTC)
# Deliveries are landed in three slices of arrival time; each slice is followed by a dbt build.
# The last slice holds only measurements that arrive hours late.
CUTS = (datetime(2026, 10, 31, 23, 30, tzinfo=UTC), datetime(2026, 11, 1, 7, tzinfo=UTC))
SELECT = (
    "--select",
    "+agg_traffic_segment_minutes",
    "+quarantine_rejected_rows",
    "quarantine_reasons",
    "traffic_segments",
    # only tests whose parents are all selected: the other feeds' chains are left out here
    "--indirect-selection",
    "cautious",
)
TRAFFIC_TABLES = (
    "int_traffic_measurements_windowed",
    "fct_traffic_measurements",
    "agg_traffic_segment_minutes",
)


def simulation() -> TrafficSimulationResult:
    config = TrafficSimulationConfig(
        locations=load_locations()[:16],
        start=START,
        end=END,
        seed=5,
        malformed_fraction=0.01,
        duplicate_fraction=0.02,
        dropout_fraction=0.03,
        no_data_fraction=0.01,
        late_fraction=0.002,
    )
    return simulate_traffic(config)


def land_slice(paths: LakePaths, result: TrafficSimulationResult, start: int, stop: int) -> None:
    delivery = LocalFirehoseDelivery(
        RawZone(paths.raw), TRAFFIC_FEED, TRAFFIC_STREAM, progress=False
    )
    with delivery:
        delivery.deliver(result.records[start:stop])


def arrival_index(result: TrafficSimulationResult, cut: datetime) -> int:
    return int((result.records.arrivals_us < int(cut.timestamp() * 1e6)).sum())


def fingerprints(paths: LakePaths) -> dict[str, tuple[int, str]]:
    return {table: table_fingerprint(paths, relation(table)) for table in TRAFFIC_TABLES}


@pytest.fixture(scope="module")
def incremental_lake(tmp_path_factory: pytest.TempPathFactory):
    """The simulation landed in three arrival slices, with an incremental build after each."""
    paths = lake_paths(tmp_path_factory.mktemp("traffic"))
    result = simulation()
    bounds = [0, *(arrival_index(result, cut) for cut in CUTS), len(result.records)]
    for start, stop in itertools.pairwise(bounds):
        land_slice(paths, result, start, stop)
        dbt(paths, "build", *SELECT)
    return paths, result, bounds


def test_quarantine_counts_equal_what_the_simulator_injected(incremental_lake) -> None:
    paths, result, _ = incremental_lake
    counted = dict(
        query(
            paths,
            "select rejection_reason, count(*) from main_quarantine.quarantine_rejected_rows "
            "where feed = 'traffic_firehose' group by 1",
        )
    )
    assert counted == {reason: n for reason, n in result.malformed_counts.items() if n}
    assert sum(counted.values()) > 0


def test_every_line_is_accepted_or_quarantined(incremental_lake) -> None:
    paths, result, _ = incremental_lake
    [(landed,)] = query(paths, "select count(*) from raw.traffic_measurements")
    [(accepted,)] = query(
        paths,
        "select count(*) from main_staging.stg_traffic_firehose__measurements "
        "where rejection_reason is null",
    )
    [(quarantined,)] = query(
        paths,
        "select count(*) from main_quarantine.quarantine_rejected_rows "
        "where feed = 'traffic_firehose'",
    )
    assert landed == len(result.records) == accepted + quarantined
    [(measurements,)] = query(paths, "select count(*) from main_marts.fct_traffic_measurements")
    assert measurements == result.valid_count  # duplicates collapsed, nothing else lost


def test_late_measurements_rebuild_their_old_hours(incremental_lake) -> None:
    """The last build saw only lines arriving after the second cut, yet rewrote hours measured
    hours before it (late data lands in its measurement hour) and left most hours alone."""
    paths, _, _ = incremental_lake
    rewritten = query(
        paths,
        """
        select distinct measured_hour
        from main_marts.fct_traffic_measurements
        where _dbt_invocation_id = (
            select _dbt_invocation_id from main_marts.fct_traffic_measurements
            order by _staged_through desc limit 1
        )
        order by 1
        """,
    )
    hours = [row[0] for row in rewritten]
    [(all_hours,)] = query(
        paths, "select count(distinct measured_hour) from main_marts.fct_traffic_measurements"
    )
    assert hours, "the last increment rewrote nothing"
    assert min(hours) < END.replace(tzinfo=None) - timedelta(hours=12)
    assert len(hours) < all_hours


def test_incremental_runs_equal_a_full_refresh(incremental_lake) -> None:
    paths, _, _ = incremental_lake
    incremental = fingerprints(paths)
    assert all(rows > 0 for rows, _ in incremental.values())
    dbt(paths, "build", "--full-refresh", *SELECT)
    assert fingerprints(paths) == incremental


def test_measurement_hours_follow_event_time_not_arrival(incremental_lake) -> None:
    paths, result, _ = incremental_lake
    assert result.cross_hour_count > 0
    [(misplaced,)] = query(
        paths,
        """
        select count(*) from main_marts.fct_traffic_measurements
        where measured_hour <> date_trunc('hour', measured_at)
            or make_timestamp(year, month, day, hour, 0, 0) <> measured_hour
        """,
    )
    [(landed_elsewhere,)] = query(
        paths,
        """
        select count(*) from main_marts.fct_traffic_measurements
        where date_trunc('hour', landed_at) <> measured_hour
        """,
    )
    assert misplaced == 0
    assert landed_elsewhere > 0


# One line of one detector, held back while the rest of the simulation is landed and built,
# then landed alone, after everything else: a late line. Detectors 19 and 98 share a segment.
SLICE_START = datetime(2026, 10, 29, 20, tzinfo=UTC)
LATE_DETECTOR, LATE_AT = 19, datetime(2026, 10, 29, 23, 30, tzinfo=UTC)
LATE_SEGMENT = "E313-01-2"
WINDOW_REACH = timedelta(minutes=190)  # traffic_window_reach_minutes


def _last_rewrite(paths: LakePaths, table: str, column: str) -> list[tuple]:
    """The (key, hour) slices of ``table`` that the last increment wrote, by ``column``."""
    rel = relation(table)
    return query(
        paths,
        f"""
        select distinct {column}, measured_hour from {rel}
        where _dbt_invocation_id = (
            select _dbt_invocation_id from {rel} order by _staged_through desc limit 1
        )
        order by 2, 1
        """,
    )


@pytest.fixture(scope="module")
def one_late_line(tmp_path_factory: pytest.TempPathFactory) -> LakePaths:
    paths = lake_paths(tmp_path_factory.mktemp("traffic_one_late_line"))
    locations = [loc for loc in load_locations() if loc.location_id in (11, 12, 19, 32, 98)]
    assert [loc.segment_id for loc in locations].count(LATE_SEGMENT) == 2
    records = simulate_traffic(
        TrafficSimulationConfig(
            locations=locations, start=SLICE_START, end=SLICE_START + timedelta(hours=8), seed=7
        )
    ).records
    wanted = {"unieke_id": LATE_DETECTOR, "tijd_waarneming": int(LATE_AT.timestamp())}
    [late] = [
        i
        for i, payload in enumerate(records.payloads)
        if wanted.items() <= json.loads(payload).items()
    ]
    on_time = np.ones(len(records), dtype=bool)
    on_time[late] = False
    delivery = LocalFirehoseDelivery(
        RawZone(paths.raw), TRAFFIC_FEED, TRAFFIC_STREAM, progress=False
    )
    with delivery:
        delivery.deliver(
            ArrivalOrderedRecords(
                records.arrivals_us[on_time],
                [p for p, keep in zip(records.payloads, on_time, strict=True) if keep],
            )
        )
    dbt(paths, "build", *SELECT)
    arrival = SLICE_START + timedelta(hours=9)
    with delivery:
        delivery.deliver([(arrival, records.payloads[late])])
    dbt(paths, "build", *SELECT)
    return paths


def test_a_late_line_rewrites_only_its_detectors_slices(one_late_line: LakePaths) -> None:
    """Only the late detector's hours its windows reach are rewritten (whole hours would
    rewrite every detector's rows of those hours), and in the segment aggregate only its
    segment's; the other detectors' rows of that hour keep what the earlier build wrote."""
    paths = one_late_line
    late_hour = LATE_AT.replace(minute=0, tzinfo=None)
    last_reached = (LATE_AT + WINDOW_REACH).replace(minute=0, tzinfo=None)
    for table in ("int_traffic_measurements_windowed", "fct_traffic_measurements"):
        rel = relation(table)
        if table == "int_traffic_measurements_windowed":  # no _dbt_invocation_id: newest rows
            rewritten = query(
                paths,
                f"select distinct location_id, measured_hour from {rel} where _staged_through"
                f" = (select max(_staged_through) from {rel}) order by 2, 1",
            )
        else:
            rewritten = _last_rewrite(paths, table, "location_id")
        assert {location for location, _ in rewritten} == {LATE_DETECTOR}, table
        hours = [hour for _, hour in rewritten]
        assert hours[0] == late_hour and hours[-1] <= last_reached, table
        [(kept, others)] = query(
            paths,
            f"""
            select
                count(*) filter (where _staged_through < (select max(_staged_through) from {rel})),
                count(*)
            from {rel} where measured_hour = '{late_hour}' and location_id <> {LATE_DETECTOR}
            """,
        )
        assert kept == others > 0, table
    segments = _last_rewrite(paths, "agg_traffic_segment_minutes", "segment_id")
    assert {segment for segment, _ in segments} == {LATE_SEGMENT}
    assert segments[0][1] == late_hour
    [(other_segments,)] = query(
        paths,
        f"select count(distinct segment_id) from {relation('agg_traffic_segment_minutes')}"
        f" where measured_hour = '{late_hour}'",
    )
    assert other_segments == 4  # the late segment and three more, which were not rewritten


def test_slice_rewrites_equal_a_full_refresh(one_late_line: LakePaths) -> None:
    paths = one_late_line
    incremental = fingerprints(paths)
    dbt(paths, "build", "--full-refresh", *SELECT)
    assert fingerprints(paths) == incremental
