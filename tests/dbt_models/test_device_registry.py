"""A user's own rooms through the device registry (issue 12, items 2, 3 and 5), on DuckDB.

The readings are written here as a user's CSV exports would be (an hourly room, a 5-minute room,
a room nobody registered, an hour repeated when a clock steps back, a later correction file),
not by the simulator, and registered with the CLI as a user would.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lakehelpers import dbt, eventlake_cli, query, table_fingerprint

from ingestion.history.files import import_history_files
from ingestion.settings import LakePaths, lake_paths
from orchestration.summary import read_summary

pytestmark = pytest.mark.dbt

DAY = datetime(2026, 3, 1)
HOURLY_DAYS = 3  # H1: 2026-03-01 .. 03, one reading an hour
FIVE_MINUTE_DAYS = 2  # F5: 2026-03-01 .. 02, one reading every 5 minutes
RETIRED_AT = "2026-03-03 00:00:00"  # H1's last day is after its retirement
MARTS = (
    "main_marts.fct_temperature_readings",
    "main_marts.agg_room_daily_temperatures",
    "main_marts.dim_rooms",
    "main_intermediate.int_temperature_reading_conflicts",
    "main_quarantine.quarantine_rejected_rows",
)


def _series(room: str, step: timedelta, days: int, level: float) -> list[str]:
    count = int(timedelta(days=days) / step)
    return [
        f"{(DAY + i * step):%Y-%m-%d %H:%M:%S},{room},{level + (i % 24) / 10:.2f}"
        for i in range(count)
    ]


def _import(paths: LakePaths, folder: Path, lines: list[str], arrival: datetime) -> None:
    folder.mkdir()
    (folder / "export.csv").write_text("timestamp,room_id,temp\n" + "\n".join(lines) + "\n")
    import_history_files(folder, paths=paths, arrival=arrival, progress=False)


@pytest.fixture(scope="module")
def registered_lake(tmp_path_factory: pytest.TempPathFactory) -> LakePaths:
    """Build once with only H1 registered, then register F5, retire H1 and rebuild."""
    paths = lake_paths(tmp_path_factory.mktemp("registry-lake"))
    work = tmp_path_factory.mktemp("exports")
    eventlake_cli(paths.data_dir, "devices", "add", "H1", "--interval-seconds", "3600")
    first = [
        *_series("H1", timedelta(hours=1), HOURLY_DAYS, 20.0),
        "2026-03-02 01:00:00,H1,25.00",  # the clock stepped back: 01:00 again, another value
        *_series("F5", timedelta(minutes=5), FIVE_MINUTE_DAYS, 21.0),
        "2026-03-01 08:00:00,U9,19.00",  # nobody registered U9
    ]
    _import(paths, work / "first", first, datetime(2026, 3, 5, tzinfo=UTC))
    # a later correction of one F5 reading, lower than the first value: landing order decides
    _import(
        paths,
        work / "correction",
        ["2026-03-01 12:00:00,F5,19.50"],
        datetime(2026, 3, 6, tzinfo=UTC),
    )
    dbt(paths, "build")
    return paths


def _quarantined(paths: LakePaths) -> dict[tuple[str, str], int]:
    rows = query(
        paths,
        "select json_extract_string(raw_line, '$.room_id'), rejection_reason, count(*)"
        " from main_quarantine.quarantine_rejected_rows group by 1, 2",
    )
    return {(room, reason): n for room, reason, n in rows}


def test_unregistered_rooms_are_quarantined_with_how_to_register(registered_lake) -> None:
    paths = registered_lake
    quarantined = _quarantined(paths)
    assert quarantined == {
        ("U9", "unknown_room"): 1,
        ("F5", "unknown_room"): FIVE_MINUTE_DAYS * 288 + 1,
    }
    ((description,),) = query(
        paths,
        "select description from main_reference.quarantine_reasons"
        " where domain = 'temperature' and reason = 'unknown_room'",
    )
    assert "eventlake devices add <room_id>" in description
    assert [
        room
        for (room,) in query(
            paths, "select distinct room_id from main_marts.fct_temperature_readings"
        )
    ] == ["H1"]


@pytest.fixture(scope="module")
def reregistered_lake(registered_lake) -> LakePaths:
    paths = registered_lake
    eventlake_cli(paths.data_dir, "devices", "add", "F5", "--name", "five-minute lab")
    eventlake_cli(paths.data_dir, "devices", "retire", "H1", "--at", RETIRED_AT)
    dbt(paths, "build", "--full-refresh")
    return paths


def test_a_newly_registered_room_is_accepted_and_a_retired_one_quarantined(
    reregistered_lake,
) -> None:
    paths = reregistered_lake
    assert _quarantined(paths) == {("U9", "unknown_room"): 1, ("H1", "device_retired"): 24}
    counts = dict(
        query(
            paths,
            "select room_id, count(*) from main_marts.fct_temperature_readings group by 1",
        )
    )
    assert counts == {"H1": 48, "F5": FIVE_MINUTE_DAYS * 288}


def test_cadence_comes_from_the_registry_or_the_readings(reregistered_lake) -> None:
    rows = query(
        reregistered_lake,
        "select room_id, expected_interval_seconds, cadence_source, room_name, registered_in,"
        " retired_at from main_marts.dim_rooms where room_id in ('H1', 'F5') order by 1",
    )
    assert rows == [
        ("F5", 300, "inferred", "five-minute lab", "registry_file", None),
        ("H1", 3600, "registry", None, "registry_file", datetime(2026, 3, 3)),
    ]


def test_complete_hourly_and_five_minute_series_cover_every_day(reregistered_lake) -> None:
    rows = query(
        reregistered_lake,
        "select room_id, cast(event_date as varchar), reading_count, expected_reading_count,"
        " coverage_ratio from main_marts.agg_room_daily_temperatures order by 1, 2",
    )
    assert rows == [
        ("F5", "2026-03-01", 288, 288, 1.0),
        ("F5", "2026-03-02", 288, 288, 1.0),
        ("H1", "2026-03-01", 24, 24, 1.0),
        ("H1", "2026-03-02", 24, 24, 1.0),
    ]
    summary = read_summary(reregistered_lake)
    coverage = {room: (cov, interval, source) for room, *_, cov, interval, source in summary.rooms}
    assert coverage == {"F5": (1.0, 300, "inferred"), "H1": (1.0, 3600, "registry")}


def test_conflicts_are_counted_and_the_documented_winner_kept(reregistered_lake) -> None:
    paths = reregistered_lake
    conflicts = query(
        paths,
        "select room_id, cast(reading_at as varchar), claim_count, distinct_value_count,"
        " winning_temperature_c, losing_temperatures_c, losing_line_count, conflict_kind"
        " from main_intermediate.int_temperature_reading_conflicts order by 1",
    )
    assert conflicts == [
        # the latest landing wins, although its value is lower
        ("F5", "2026-03-01 12:00:00", 2, 2, 19.5, "21.000", 1, "within_feed"),
        # one object, no line order across engines: the higher value wins (documented)
        ("H1", "2026-03-02 01:00:00", 2, 2, 25.0, "20.100", 1, "within_feed"),
    ]
    kept = query(
        paths,
        "select room_id, temperature_c, claim_count from main_marts.fct_temperature_readings"
        " where (room_id, reading_at) in (('F5', timestamp '2026-03-01 12:00:00'),"
        " ('H1', timestamp '2026-03-02 01:00:00')) order by 1",
    )
    assert kept == [("F5", 19.5, 2), ("H1", 25.0, 2)]
    rendered = read_summary(paths).render()
    assert "Conflicting duplicates (same room and time, different values): 2 readings" in rendered
    within = next(line for line in rendered.splitlines() if "within one feed" in line)
    assert within.split(")", 1)[1].split() == ["2", "readings,", "2", "losing", "lines"]


def test_an_incremental_build_after_the_rebuild_changes_nothing(reregistered_lake) -> None:
    paths = reregistered_lake
    before = {relation: table_fingerprint(paths, relation) for relation in MARTS}
    dbt(paths, "build")
    assert {relation: table_fingerprint(paths, relation) for relation in MARTS} == before


def test_a_registry_row_in_a_legacy_encoding_never_fails_the_build(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A hand-edited registry saved as Latin-1: the build passes, the UTF-8 rows register, the
    row that is not UTF-8 does not (its room's readings are quarantined with how to register)."""
    paths = lake_paths(tmp_path_factory.mktemp("latin1-registry"))
    (paths.data_dir / "registry").mkdir(parents=True)
    (paths.data_dir / "registry" / "rooms.csv").write_bytes(
        b"room_id,name,location\nOK1,Lab,Hall\nBAD1,Lab,Geb\xe4ude C\n"
    )
    arrival = datetime(2026, 3, 2, tzinfo=UTC)
    hourly = timedelta(hours=1)
    lines = [*_series("OK1", hourly, 1, 20.0), *_series("BAD1", hourly, 1, 20.0)]
    _import(paths, paths.data_dir / "in", lines, arrival)
    assert dbt(paths, "build")
    assert _quarantined(paths) == {("BAD1", "unknown_room"): 24}
