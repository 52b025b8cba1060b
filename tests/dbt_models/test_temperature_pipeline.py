"""dbt on DuckDB over a simulated lake: reconciliation, idempotency, incremental == full refresh."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from lakehelpers import (
    T0,
    dbt,
    eventlake_cli,
    hours,
    land,
    marts_fingerprint,
    query,
    table_fingerprint,
)

from ingestion.history.files import import_history_files
from ingestion.sensors.landing import LandingReport
from ingestion.settings import LakePaths, lake_paths
from orchestration.dbt_runner import dbt_target_dir
from orchestration.publish import publish_curated

pytestmark = pytest.mark.dbt

# Everything downstream of the temperature fact (all incremental), and the quarantine.
TEMPERATURE_MARTS = (
    "main_marts.fct_temperature_readings",
    "main_marts.agg_room_daily_temperatures",
    "main_marts.fct_room_temperature_series",
    "main_marts.dim_rooms",
    "main_quarantine.quarantine_rejected_rows",
)

FAULTS = {
    "malformed_fraction": 0.03,
    "duplicate_fraction": 0.02,
    "late_fraction": 0.02,
    "dropout_fraction": 0.01,
}


def _land_two_days(paths: LakePaths) -> LandingReport:
    return land(paths, T0, T0 + hours(48), seed=11, anomalies=True, **FAULTS)


@pytest.fixture(scope="module")
def built_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[LakePaths, dict[str, int]]:
    """Two days of live readings with every fault, a history CSV, one dbt build."""
    paths = lake_paths(tmp_path_factory.mktemp("lake"))
    landing = _land_two_days(paths)
    history = paths.data_dir / "history"
    history.mkdir()
    (history / "temps.csv").write_text(
        "timestamp,room_id,temp\n"
        "2026-02-28 23:00:00,A101,19.5\n"
        "2026-03-01 00:00:00,A101,18.0\n"  # also in the live feed: live must win
        "2026-02-28 23:01:00,A101,warm\n"
        "2026-02-28 23:02:00,Q999,19.0\n"
        "not,a,valid,row\n"
    )
    import_history_files(history, paths=paths, progress=False)
    dbt(paths, "build")
    return paths, landing.malformed


def test_every_landed_line_is_accepted_or_quarantined(built_lake) -> None:
    paths, _ = built_lake
    rows = query(
        paths,
        """
        with landed as (
            select 'firehose' as feed, count(*) as n from raw.sensor_readings
            union all select 'history_files', count(*) from raw.sensor_history
        ),
        accepted as (
            select feed, count(*) as n
            from main_intermediate.int_temperature_readings_unioned group by feed
        ),
        quarantined as (
            select feed, count(*) as n
            from main_quarantine.quarantine_rejected_rows group by feed
        )
        select landed.feed, landed.n, coalesce(accepted.n, 0), coalesce(quarantined.n, 0)
        from landed
        left join accepted using (feed)
        left join quarantined using (feed)
        order by 1
        """,
    )
    assert [feed for feed, *_ in rows] == ["firehose", "history_files"]
    for feed, landed, accepted, quarantined in rows:
        assert landed > 0, feed
        assert landed == accepted + quarantined, feed


def test_quarantine_reasons_match_what_the_simulator_injected(built_lake) -> None:
    paths, injected = built_lake
    found = dict(
        query(
            paths,
            "select rejection_reason, count(*) from main_quarantine.quarantine_rejected_rows"
            " where feed = 'firehose' group by 1",
        )
    )
    assert sum(injected.values()) > 50
    assert found == {reason: n for reason, n in injected.items() if n}


def test_history_rows_are_quarantined_with_their_reason(built_lake) -> None:
    paths, _ = built_lake
    found = sorted(
        query(
            paths,
            "select rejection_reason from main_quarantine.quarantine_rejected_rows"
            " where feed = 'history_files'",
        )
    )
    assert found == [("invalid_json",), ("temperature_not_numeric",), ("unknown_room",)]


def test_live_feed_wins_over_history_for_the_same_reading(built_lake) -> None:
    paths, _ = built_lake
    ((feed, claims),) = query(
        paths,
        "select feed, claim_count from main_marts.fct_temperature_readings"
        " where room_id = 'A101' and reading_at = timestamp '2026-03-01 00:00:00'",
    )
    assert (feed, claims) == ("firehose", 2)


def test_reconciliation_data_test_fails_when_a_line_goes_missing(
    built_lake, tmp_path: Path
) -> None:
    paths, _ = built_lake
    copy = lake_paths(tmp_path)
    copy.data_dir.mkdir(exist_ok=True)
    # Work on a copy of the warehouse so the shared lake stays intact for the other tests.
    copy.duckdb_file.write_bytes(paths.duckdb_file.read_bytes())
    (copy.data_dir / "lake").symlink_to(paths.lake)
    with duckdb.connect(str(copy.duckdb_file)) as con:
        con.execute(
            "delete from main_staging.stg_sensor_firehose__readings where reading_line_id in"
            " (select reading_line_id from main_staging.stg_sensor_firehose__readings limit 1)"
        )
    assert not dbt(
        copy, "test", "--select", "assert_every_landed_line_is_accepted_or_quarantined", check=False
    )


def test_fact_is_unique_per_room_and_time_and_partitioned_by_event_date(built_lake) -> None:
    paths, _ = built_lake
    ((dupes,),) = query(
        paths,
        "select count(*) from (select room_id, reading_at from main_marts.fct_temperature_readings"
        " group by all having count(*) > 1)",
    )
    assert dupes == 0
    ((mismatched,),) = query(
        paths,
        "select count(*) from main_marts.fct_temperature_readings"
        " where event_date <> cast(reading_at as date)",
    )
    assert mismatched == 0


def test_publish_writes_hive_partitions_once(built_lake) -> None:
    paths, _ = built_lake
    first = publish_curated(paths)[0]
    assert first.partitions_written >= 2
    second = publish_curated(paths)[0]
    assert second.partitions_written == 0
    assert second.partitions_unchanged == first.partitions_written + first.partitions_unchanged
    curated = paths.curated / "fct_temperature_readings"
    parquet = duckdb.sql(
        f"select count(*), count(distinct event_date) from read_parquet('{curated}/*/*.parquet',"
        " hive_partitioning = true)"
    ).fetchone()
    ((rows, days),) = query(
        paths,
        "select count(*), count(distinct event_date) from main_marts.fct_temperature_readings",
    )
    assert parquet == (rows, days)
    assert not list(curated.rglob("*.tmp")) and not list((paths.curated / ".staging").glob("*"))


def test_running_everything_twice_changes_no_mart(built_lake) -> None:
    # The shared lake's landing and build were the first run: this is the second.
    paths, _ = built_lake
    before = marts_fingerprint(paths)
    assert before["fct_temperature_readings"][0] > 0
    again = _land_two_days(paths)
    assert again.skipped
    dbt(paths, "build")
    assert marts_fingerprint(paths) == before


def test_incremental_run_equals_full_refresh_with_late_and_duplicate_data(tmp_path: Path) -> None:
    paths = lake_paths(tmp_path)
    land(paths, T0, T0 + hours(30), seed=21, **FAULTS)
    dbt(paths, "build")
    first_run = dict(
        query(
            paths,
            "select event_date, any_value(_dbt_invocation_id)"
            " from main_marts.fct_temperature_readings group by 1",
        )
    )
    # A new hour of live data, then a re-delivery of an old slice with different values
    # (late data for an old partition) and a history CSV overlapping the first day.
    land(paths, T0 + hours(30), T0 + hours(31), seed=22, **FAULTS)
    land(paths, T0 + hours(2), T0 + hours(3), seed=23, duplicate_fraction=0.5)
    history = tmp_path / "history"
    history.mkdir()
    (history / "h.csv").write_text("timestamp,room_id,temp\n2026-02-27 12:00:00,B201,20.25\n")
    import_history_files(history, paths=paths, progress=False)

    dbt(paths, "build")
    incremental = _temperature_marts(paths)
    rebuilt = dict(
        query(
            paths,
            "select event_date, any_value(_dbt_invocation_id)"
            " from main_marts.fct_temperature_readings group by 1",
        )
    )
    # Only the partitions the new lines touched were rewritten.
    touched = {day for day, invocation in rebuilt.items() if first_run.get(day) != invocation}
    assert {str(day) for day in touched} == {"2026-02-27", "2026-03-01", "2026-03-02"}

    # The marts downstream were incremental too: only the rooms and days that changed.
    days_rebuilt = query(
        paths,
        "select distinct cast(event_date as varchar) from main_marts.agg_room_daily_temperatures"
        " where _staged_through = (select max(_staged_through)"
        " from main_marts.agg_room_daily_temperatures) order by 1",
    )
    assert [day for (day,) in days_rebuilt] == ["2026-02-27", "2026-03-01", "2026-03-02"]
    renumbered = dict(
        query(
            paths,
            "select room_id, cast(min(reading_at) as varchar)"
            " from main_marts.fct_room_temperature_series where _staged_through ="
            " (select max(_staged_through) from main_marts.fct_room_temperature_series)"
            " group by 1",
        )
    )
    # B201 from its new first reading (the history file's), the others from the re-delivered slice
    assert renumbered["B201"] == "2026-02-27 12:00:00"
    assert "2026-03-01 02:00:00" <= renumbered["A101"] < "2026-03-01 03:00:00"

    dbt(paths, "build", "--full-refresh")
    assert _temperature_marts(paths) == incremental


def _temperature_marts(paths: LakePaths) -> dict[str, tuple[int, str]]:
    """The fingerprints of every mart downstream of the temperature fact, and the quarantine."""
    return {relation: table_fingerprint(paths, relation) for relation in TEMPERATURE_MARTS}


def test_a_cadence_change_rebuilds_the_rooms_days_as_a_full_refresh_would(
    tmp_path: Path,
) -> None:
    """A registry edit with no new reading changes a room's coverage on every day it has."""
    paths = lake_paths(tmp_path)
    land(paths, T0, T0 + hours(30), seed=31, **FAULTS)
    dbt(paths, "build")
    eventlake_cli(paths.data_dir, "devices", "add", "A101", "--interval-seconds", "120")
    dbt(paths, "build")
    cadences = query(
        paths,
        "select room_id, count(*), min(expected_interval_seconds), max(expected_interval_seconds)"
        " from main_marts.agg_room_daily_temperatures group by 1 order by 1",
    )
    assert cadences == [("A101", 2, 120, 120), ("A102", 2, 60, 60), ("B201", 2, 60, 60)]
    incremental = _temperature_marts(paths)
    dbt(paths, "build", "--full-refresh")
    assert _temperature_marts(paths) == incremental


def test_data_tests_read_what_the_increment_rebuilt_and_everything_on_a_full_refresh(
    tmp_path: Path,
) -> None:
    """A bad row in a partition the increment left alone is not scanned; one in a rebuilt
    partition fails its test, and so does a new row repeating an old row's key; a full refresh
    scans everything."""
    paths = lake_paths(tmp_path)
    land(paths, T0, T0 + hours(30), seed=41, malformed_fraction=0.03)
    dbt(paths, "build")
    land(paths, T0 + hours(30), T0 + hours(31), seed=42, malformed_fraction=0.03)
    dbt(paths, "build")
    fact = "main_marts.fct_temperature_readings"
    facts_tests = ("test", "--select", "fct_temperature_readings,test_name:not_null")
    assert dbt(paths, *facts_tests)

    def write(sql: str) -> None:
        with duckdb.connect(str(paths.duckdb_file)) as con:
            con.execute(sql)

    # 2026-03-01 was built by the first run only: a null there is not scanned by an increment...
    write(
        f"update {fact} set temperature_c = null where reading_id ="
        f" (select min(reading_id) from {fact} where event_date = date '2026-03-01')"
    )
    assert dbt(paths, *facts_tests)
    # ...but a full refresh's tests read it (the models themselves are not rebuilt here)
    full_refresh_tests = (
        "build",
        "--full-refresh",
        "--select",
        "test_type:data,fct_temperature_readings,test_name:not_null",
    )
    assert not dbt(paths, *full_refresh_tests, check=False)
    write(f"update {fact} set temperature_c = 20 where temperature_c is null")
    assert dbt(paths, *full_refresh_tests)
    # the increment rebuilt 2026-03-02: a null there fails
    write(
        f"update {fact} set temperature_c = null where reading_id ="
        f" (select min(reading_id) from {fact} where event_date = date '2026-03-02')"
    )
    assert not dbt(paths, *facts_tests, check=False)

    # The quarantine is append-only: a newly appended row repeating the key of a row appended
    # by the first run fails the primary key test, though the old row is outside the increment.
    quarantine = "main_quarantine.quarantine_rejected_rows"
    quarantine_key = ("test", "--select", "quarantine_rejected_rows,test_name:primary_key")
    assert dbt(paths, *quarantine_key)
    write(
        f"insert into {quarantine} select * replace ((select max(staged_at) from {quarantine})"
        f" as staged_at) from {quarantine} where staged_at = (select min(staged_at) from"
        f" {quarantine}) limit 1"
    )
    assert not dbt(paths, *quarantine_key, check=False)


def test_every_built_column_is_documented_and_every_documented_column_exists(built_lake) -> None:
    paths, _ = built_lake
    manifest = json.loads((dbt_target_dir() / "manifest.json").read_text())
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    assert len(models) >= 10
    for node in models:
        built = {
            name
            for (name,) in query(
                paths,
                "select column_name from information_schema.columns"
                f" where table_schema = '{node['schema']}' and table_name = '{node['alias']}'",
            )
        }
        assert built, node["unique_id"]
        assert built == set(node["columns"]), node["unique_id"]


def test_docs_site_catalogs_every_model_with_its_lineage(built_lake) -> None:
    paths, _ = built_lake
    dbt(paths, "docs", "generate")
    catalog = json.loads((dbt_target_dir() / "catalog.json").read_text())
    manifest = json.loads((dbt_target_dir() / "manifest.json").read_text())
    models = {k for k, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    assert models <= set(catalog["nodes"])
    assert set(manifest["exposures"]) == {
        "exposure.eventlake.temperature_dashboard",
        "exposure.eventlake.rcf_anomaly_detection",
        "exposure.eventlake.anomaly_dashboard",
        "exposure.eventlake.subduction_zone_map",
        "exposure.eventlake.traffic_jam_dashboard",
        "exposure.eventlake.data_quality_dashboard",
    }
    assert (
        "model.eventlake.fct_temperature_anomalies"
        in (manifest["parent_map"]["exposure.eventlake.anomaly_dashboard"])
    )
    fact = "model.eventlake.fct_temperature_readings"
    assert "model.eventlake.int_temperature_readings_deduplicated" in manifest["parent_map"][fact]
