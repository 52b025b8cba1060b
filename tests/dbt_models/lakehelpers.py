"""Shared helpers for tests that land data in a throwaway lake and run dbt on it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from ingestion.crash_points import CRASH_ENV
from ingestion.sensors import SimulationConfig
from ingestion.sensors.landing import LandingReport, land_simulation
from ingestion.settings import LakePaths
from orchestration.dbt_runner import DbtError, WarmDbt
from orchestration.duckdb_functions import register_functions
from orchestration.relations import Relations

ROOMS = ("A101", "A102", "B201")
# The main job on a small lake: one day, two rooms (tests/conftest.py's demo_run).
DEMO_ARGS = ("demo", "--end", "2026-04-02T06:00", "--days", "1", "--rooms", "2", "--no-progress")
T0 = datetime(2026, 3, 1, tzinfo=UTC)

# Columns the engine writes for its own bookkeeping (a full refresh re-stages every line, so
# staged_at changes too); everything else is business data.
BOOKKEEPING = {"_dbt_invocation_id", "_staged_through", "staged_at"}


def land(
    paths: LakePaths, start: datetime, end: datetime, seed: int, **faults: float
) -> LandingReport:
    config = SimulationConfig(rooms=list(ROOMS), start=start, end=end, seed=seed, **faults)
    return land_simulation(config, paths, progress=False)


_parsed: list[WarmDbt] = []  # the project parsed by this test process's first dbt command


def _warm(paths: LakePaths) -> WarmDbt:
    """dbt in this process on ``paths``' lake, as ``eventlake run`` runs it; the project is
    parsed once per test process, not once per command."""
    if not _parsed:
        _parsed.append(WarmDbt(paths))
    return _parsed[0].for_lake(paths)


def dbt(paths: LakePaths, *args: str, check: bool = True) -> bool:
    """``dbt <args>`` on ``paths``' lake; whether it succeeded."""
    try:
        _warm(paths).invoke(args)
    except DbtError:
        if check:
            raise
        return False
    return True


def compile_inline(paths: LakePaths, sql: str) -> str:
    """``sql`` with the project's macros, rendered for DuckDB by dbt (`dbt compile --inline`)."""
    return _warm(paths).invoke(["compile", "--inline", sql]).results[0].node.compiled_code


def run_eventlake(
    data_dir: Path, *args: str, crash_at: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the `eventlake` CLI on ``data_dir`` as a user would, optionally killed at a crash
    point (ingestion/crash_points.py); an inherited crash point never leaks into the run."""
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    if crash_at:
        env[CRASH_ENV] = crash_at
    command = [sys.executable, "-m", "orchestration.cli", "--data-dir", str(data_dir), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def eventlake_cli(data_dir: Path, *args: str) -> str:
    """Run the `eventlake` CLI on ``data_dir``; its stdout, asserting success."""
    done = run_eventlake(data_dir, *args)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def query(paths: LakePaths, sql: str) -> list[tuple]:
    # the raw views call the reader's functions (orchestration/duckdb_functions.py)
    with register_functions(duckdb.connect(str(paths.duckdb_file), read_only=True)) as con:
        return con.execute(sql).fetchall()


def table_fingerprint(
    paths: LakePaths, relation: str, ignore: frozenset[str] = frozenset()
) -> tuple[int, str]:
    """Row count and an order-independent digest of every business column of ``relation``
    (bookkeeping columns and ``ignore`` left out)."""
    with duckdb.connect(str(paths.duckdb_file), read_only=True) as con:
        columns = [
            row[0]
            for row in con.execute(f"describe {relation}").fetchall()
            if row[0] not in BOOKKEEPING | ignore
        ]
        rows = con.execute(f"select {', '.join(columns)} from {relation} order by all").fetchall()
    return len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()


MARTS = (
    "fct_temperature_readings",
    "agg_room_daily_temperatures",
    "fct_room_temperature_series",
    "dim_rooms",
    "quarantine_rejected_rows",
    "fct_traffic_measurements",
    "agg_traffic_segment_minutes",
    "fct_seismic_events",
    "agg_seismic_utm_zones",
)


def relation(model: str) -> str:
    """Where ``model`` lives, as the last dbt command of this session wrote it in its manifest
    (relation names do not depend on the lake's folder)."""
    return Relations.from_manifest().model(model)


def marts_fingerprint(paths: LakePaths) -> dict[str, tuple[int, str]]:
    """Each mart's fingerprint, by model name."""
    return {model: table_fingerprint(paths, relation(model)) for model in MARTS}


def hours(n: int) -> timedelta:
    return timedelta(hours=n)
