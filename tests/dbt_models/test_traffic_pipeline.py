"""The traffic feed on DuckDB: quarantine, reconciliation, and incremental == full refresh with
late measurements that land in old hour partitions (across midnight and a month end)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from lakehelpers import dbt, query, relation, table_fingerprint

from ingestion.delivery.local import LocalFirehoseDelivery
from ingestion.raw_zone import RawZone
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
