"""kill -9 during landing, then a re-run, equals an uninterrupted run: byte for byte.

The kill is deterministic: ``EVENTLAKE_CRASH_AT=<point>:<n>`` makes the CLI SIGKILL itself the
n-th time it reaches a named point (ingestion/crash_points.py), so no test depends on timing.
One test also kills a real landing from outside, at a moment chosen by what has landed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lakehelpers import run_eventlake

from ingestion.crash_points import CRASH_ENV
from ingestion.history.database import create_demo_database, default_demo_url
from ingestion.raw_zone import (
    RawZone,
    batch_object_id,
    clean_staging,
    staging_file,
    staging_root_for,
)
from ingestion.settings import lake_paths

SIMULATE = (
    "simulate",
    "--start",
    "2026-01-01",
    "--end",
    "2026-01-01T04:00",
    "--rooms",
    "2",
    "--malformed-fraction",
    "0.05",
    "--duplicate-fraction",
    "0.05",
    "--anomalies",
)
TRAFFIC = (
    "simulate-traffic",
    "--start",
    "2026-01-01",
    "--end",
    "2026-01-01T02:00",
    "--locations",
    "3",
    "--gzip",
    "--late-fraction",
    "0.1",
    "--malformed-fraction",
    "0.05",
)
SEISMIC = ("simulate-seismic", "--start", "2026-01-01", "--days", "4", "--events-per-day", "10")


def _zone_bytes(data_dir: Path, zone: str = "raw") -> dict[str, bytes]:
    """Every file of a lake zone, by relative path (staging excluded: it is not the zone)."""
    root = data_dir / "lake" / zone
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _staging_leftovers(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "lake").rglob("*") if p.is_file() and ".staging" in p.parts]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    """The raw zone each landing command leaves when nothing goes wrong."""
    zones = {}
    for args in (SIMULATE, TRAFFIC, SEISMIC):
        data_dir = tmp_path_factory.mktemp("uninterrupted")
        done = run_eventlake(data_dir, *args)
        assert done.returncode == 0, done.stderr
        zones[args[0]] = _zone_bytes(data_dir)
    return zones


@pytest.mark.parametrize(
    ("args", "crash_at"),
    [
        (SIMULATE, "object-landed:1"),
        (SIMULATE, "object-landed:20"),
        (SIMULATE, "before-rename:7"),
        (SIMULATE, "object-landed:45"),  # the last object: killed before the batch is recorded
        (TRAFFIC, "object-landed:3"),
        (TRAFFIC, "before-rename:10"),
        (SEISMIC, "object-landed:2"),
        (SEISMIC, "before-rename:1"),
    ],
)
def test_killed_landing_rerun_equals_uninterrupted(
    args: tuple[str, ...],
    crash_at: str,
    uninterrupted: dict[str, dict[str, bytes]],
    tmp_path: Path,
) -> None:
    expected = uninterrupted[args[0]]
    killed = run_eventlake(tmp_path, *args, crash_at=crash_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    partial = _zone_bytes(tmp_path)
    assert 0 < len(partial) <= len(expected) or crash_at.startswith("before-rename")
    # What landed before the kill is already exactly what an uninterrupted run lands.
    assert all(expected.get(name) == body for name, body in partial.items())

    rerun = run_eventlake(tmp_path, *args)
    assert rerun.returncode == 0, rerun.stderr
    assert _zone_bytes(tmp_path) == expected
    assert _staging_leftovers(tmp_path) == []  # the killed writer's temporary file is gone


def test_killed_history_import_rerun_lands_each_line_once(tmp_path: Path) -> None:
    source = tmp_path / "history"
    source.mkdir()
    header = "timestamp,room_id,temp\n"
    for day in (1, 2, 3):
        rows = "".join(f"2024-03-0{day} {h:02d}:00:00,A101,{20 + h / 10}\n" for h in range(24))
        (source / f"day{day}.csv").write_text(header + rows)

    killed = run_eventlake(
        tmp_path / "lake-a", "import-history", str(source), crash_at="object-landed:2"
    )
    assert killed.returncode == -signal.SIGKILL
    rerun = run_eventlake(tmp_path / "lake-a", "import-history", str(source))
    assert rerun.returncode == 0, rerun.stderr
    clean = run_eventlake(tmp_path / "lake-b", "import-history", str(source))
    assert clean.returncode == 0, clean.stderr

    def lines(data_dir: Path) -> list[bytes]:
        return sorted(b"".join(_zone_bytes(data_dir).values()).splitlines())

    # Object names carry the import time, so compare the landed lines, not the names.
    assert lines(tmp_path / "lake-a") == lines(tmp_path / "lake-b")
    assert len(lines(tmp_path / "lake-a")) == 72


@pytest.mark.parametrize("output_format", ["ndjson", "parquet"])
def test_killed_db_extract_rerun_lands_each_chunk_once(output_format: str, tmp_path: Path) -> None:
    def extract(data_dir: Path, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
        args = ("extract-db", "--chunk-size", "50", "--format", output_format)
        return run_eventlake(data_dir, *args, crash_at=crash_at)

    def landed(data_dir: Path) -> list[bytes]:
        return sorted(_zone_bytes(data_dir).values())

    for data_dir in (tmp_path / "a", tmp_path / "b"):
        data_dir.mkdir()
        create_demo_database(
            default_demo_url(lake_paths(data_dir)),
            rooms=["A101", "A102"],
            start=datetime(2026, 1, 1, tzinfo=UTC),
            end=datetime(2026, 1, 2, tzinfo=UTC),
        )
    # Killed after the third chunk landed, before its high-water mark was saved.
    assert extract(tmp_path / "a", "object-landed:3").returncode == -signal.SIGKILL
    assert extract(tmp_path / "a").returncode == 0
    assert extract(tmp_path / "b").returncode == 0
    # Same objects, same bytes (names carry the extraction time, so compare contents).
    assert landed(tmp_path / "a") == landed(tmp_path / "b")
    assert len(landed(tmp_path / "b")) == 4  # 192 rows in chunks of 50


def test_external_kill_mid_landing_then_rerun_equals_uninterrupted(
    uninterrupted: dict[str, dict[str, bytes]], tmp_path: Path
) -> None:
    """A real kill -9 from outside once some objects have landed (the moment is observed)."""
    expected = uninterrupted["simulate"]
    env = {**os.environ, CRASH_ENV: ""}
    command = [sys.executable, "-m", "orchestration.cli", "--data-dir", str(tmp_path), *SIMULATE]
    feed = tmp_path / "lake" / "raw" / "sensor_readings"
    with subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) as proc:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if feed.is_dir() and any(feed.rglob("*-1-2026-*")):
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.001)
        proc.wait()
    rerun = run_eventlake(tmp_path, *SIMULATE)
    assert rerun.returncode == 0, rerun.stderr
    assert _zone_bytes(tmp_path) == expected


def test_object_ids_are_stable_and_distinct() -> None:
    assert batch_object_id("b", 0) == batch_object_id("b", 0)
    ids = {batch_object_id(batch, n) for batch in ("a", "b") for n in range(100)}
    assert len(ids) == 200
    with pytest.raises(ValueError, match="must not be negative"):
        batch_object_id("b", -1)


def test_staging_lives_outside_the_zone_and_dead_writers_leftovers_go(tmp_path: Path) -> None:
    zone = RawZone(tmp_path / "lake" / "raw")
    assert zone.staging_root == tmp_path / "lake" / ".staging" / "raw"
    assert staging_root_for(tmp_path / "lake" / "curated") == tmp_path / "lake" / ".staging" / (
        "curated"
    )
    zone.staging_root.mkdir(parents=True)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    leftover = zone.staging_root / f"{dead.stdout.strip()}-abc.tmp"
    mine = staging_file(zone.staging_root)
    legacy = zone.root / ".staging" / "old.tmp"  # the layout before: inside the zone
    for path in (leftover, mine, legacy):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half")
    assert clean_staging(zone.staging_root) == 1
    assert not leftover.exists() and mine.exists()  # a live writer's file stays
    mine.unlink()
    zone.write_object("feed", "stream", [{"a": 1}], datetime(2026, 1, 1, tzinfo=UTC))
    assert not legacy.exists()
