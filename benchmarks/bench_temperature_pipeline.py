"""Benchmark: land 1,000,000 simulated readings, full `dbt build`, then one more hour incrementally.

Prints its figures; the README reports them. Nothing here is asserted: speed is measured, not
tested. Run with `make benchmark` (or `.venv/bin/python benchmarks/bench_temperature_pipeline.py`).

Set-up: the 20 rooms of the registry at a 10-second cadence (50,000 readings per room, about
5.8 days), 1% malformed lines, 1% duplicate deliveries, 1% late arrivals, labelled anomalies,
landed by the local Firehose delivery (5 MiB / 300 s buffers, atomic objects).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from ingestion.delivery import LocalFirehoseDelivery
from ingestion.raw_zone import RawZone
from ingestion.sensors import SimulationConfig, load_room_ids, simulate
from ingestion.sensors.landing import LIVE_FEED, LIVE_STREAM
from ingestion.settings import PROJECT_ROOT, lake_paths
from orchestration.dbt_runner import run_dbt
from orchestration.publish import publish_curated
from orchestration.relations import Relations

CADENCE_SECONDS = 10
START = datetime(2026, 1, 5, tzinfo=UTC)
DBT_VARS = json.dumps({"expected_reading_interval_seconds": CADENCE_SECONDS})


def _config(start: datetime, end: datetime, seed: int) -> SimulationConfig:
    return SimulationConfig(
        rooms=load_room_ids(PROJECT_ROOT / "seeds" / "rooms.csv"),
        start=start,
        end=end,
        cadence=timedelta(seconds=CADENCE_SECONDS),
        seed=seed,
        malformed_fraction=0.01,
        anomalies=True,
        duplicate_fraction=0.01,
        late_fraction=0.01,
    )


def _land(zone: RawZone, config: SimulationConfig) -> dict[str, float]:
    started = time.perf_counter()
    result = simulate(config)
    simulated = time.perf_counter()
    report = LocalFirehoseDelivery(zone, LIVE_FEED, LIVE_STREAM, progress=False).deliver(
        result.records
    )
    landed = time.perf_counter()
    return {
        "records": len(result.records),
        "objects": report.objects,
        "simulate_s": simulated - started,
        "land_s": landed - simulated,
        "total_s": landed - started,
    }


def _dbt_build(paths, *extra: str) -> dict[str, float]:
    started = time.perf_counter()
    run_dbt(["build", "--vars", DBT_VARS, *extra], paths, quiet=True)
    wall = time.perf_counter() - started
    results = json.loads((PROJECT_ROOT / "target" / "run_results.json").read_text())
    models = sum(
        r["execution_time"] for r in results["results"] if r["unique_id"].startswith("model.")
    )
    return {"wall_s": wall, "dbt_elapsed_s": results["elapsed_time"], "model_exec_s": models}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--readings", type=int, default=1_000_000, help="readings to land (default 1M)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the benchmark lake")
    args = parser.parse_args()
    rooms = len(load_room_ids(PROJECT_ROOT / "seeds" / "rooms.csv"))
    end = START + timedelta(seconds=CADENCE_SECONDS * (args.readings // rooms))
    work = Path(tempfile.mkdtemp(prefix="eventlake-bench-"))
    paths = lake_paths(work)
    zone = RawZone(paths.raw)
    try:
        full_landing = _land(zone, _config(START, end, seed=1))
        full_build = _dbt_build(paths)
        started = time.perf_counter()
        publish_curated(paths)
        full_publish = time.perf_counter() - started
        hour_landing = _land(zone, _config(end, end + timedelta(hours=1), seed=2))
        hour_build = _dbt_build(paths)
        started = time.perf_counter()
        publish_curated(paths)
        hour_publish = time.perf_counter() - started
        idle_build = _dbt_build(paths)  # nothing new landed: dbt's fixed cost per invocation
        with duckdb.connect(str(paths.duckdb_file), read_only=True) as con:
            fact = Relations.from_manifest().model("fct_temperature_readings")
            fact_rows = con.execute(f"select count(*) from {fact}").fetchone()[0]
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    land, full, hour = full_landing, full_build, hour_build
    rate = land["records"] / land["total_s"]
    lines = [
        f"machine: {platform.machine()}, Python {platform.python_version()},"
        f" duckdb {duckdb.__version__}",
        f"landing  {land['records']:,} records in {land['objects']:,} objects:"
        f" simulate {land['simulate_s']:.2f}s + land {land['land_s']:.2f}s = {rate:,.0f} records/s",
        f"full     dbt build {full['wall_s']:.1f}s wall (dbt elapsed {full['dbt_elapsed_s']:.1f}s,"
        f" models {full['model_exec_s']:.1f}s); publish {full_publish:.2f}s;"
        f" fact rows {fact_rows:,}",
        f"+1 hour  {hour_landing['records']:,} records landed in {hour_landing['total_s']:.2f}s;"
        f" dbt build {hour['wall_s']:.1f}s wall (dbt elapsed {hour['dbt_elapsed_s']:.1f}s,"
        f" models {hour['model_exec_s']:.1f}s); publish {hour_publish:.2f}s",
        f"no-op    dbt build {idle_build['wall_s']:.1f}s wall (dbt elapsed"
        f" {idle_build['dbt_elapsed_s']:.1f}s, models {idle_build['model_exec_s']:.1f}s):"
        " the floor",
        f"incremental / full: wall {hour['wall_s'] / full['wall_s']:.0%},"
        f" dbt elapsed {hour['dbt_elapsed_s'] / full['dbt_elapsed_s']:.0%},"
        f" models {hour['model_exec_s'] / full['model_exec_s']:.0%}",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
