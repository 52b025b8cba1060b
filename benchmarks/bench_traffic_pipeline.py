"""Benchmark: a week of traffic (500 detectors, one measurement a minute, ~5M lines), full
refresh of the traffic models, then one-hour increments.

Prints its figures; the README reports them. Nothing here is asserted. Run with
`make benchmark` (or `.venv/bin/python benchmarks/bench_traffic_pipeline.py`).

Set-up: 500 detectors of the registry, 7 days from a Monday, 0.1% malformed lines, 1% duplicate
deliveries, 1% dropout minutes, 0.2% no-data minutes and 0.5% measurements hours late, landed by
the local Firehose delivery under their arrival time. The full load is everything that arrived
before the week's end; each increment is everything that arrived in the following hour (that
hour's measurements and late ones from earlier hours).

Timed: `dbt run` of the traffic models (staging, de-duplication, windows, fact, segment minutes)
as a scheduler runs it, one process per run; and the same increment through dbt's Python API
in a process that already holds the parsed project (what a long-running orchestrator pays).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np

from ingestion.delivery import LocalFirehoseDelivery
from ingestion.raw_zone import RawZone
from ingestion.settings import LakePaths, lake_paths
from ingestion.traffic import (
    TRAFFIC_FEED,
    TRAFFIC_STREAM,
    TrafficSimulationConfig,
    load_locations,
    simulate_traffic,
)
from orchestration.dbt_runner import dbt_target_dir, ensure_profiles, run_dbt
from orchestration.relations import Relations

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
TRAFFIC_MODELS = (
    "stg_traffic_firehose__measurements",
    "int_traffic_measurements_deduplicated",
    "int_traffic_measurements_windowed",
    "fct_traffic_measurements",
    "agg_traffic_segment_minutes",
)
# the traffic chain and everything it reads (the device registry), as dbt resolves it
SELECT = ["--select", "+agg_traffic_segment_minutes"]


def model_seconds() -> dict[str, float]:
    """Each model's execution time in the last dbt command, and dbt's elapsed time ("dbt")."""
    results = json.loads((dbt_target_dir() / "run_results.json").read_text())
    return {
        r["unique_id"].split(".")[-1]: r["execution_time"]
        for r in results["results"]
        if r["unique_id"].startswith("model.")
    } | {"dbt": results["elapsed_time"]}


def _run(paths: LakePaths, *extra: str) -> dict[str, float]:
    started = time.perf_counter()
    run_dbt(["run", *SELECT, *extra], paths, quiet=True)
    return {"wall": time.perf_counter() - started, **model_seconds()}


def _describe(name: str, timing: dict[str, float]) -> str:
    models = sum(v for k, v in timing.items() if k in TRAFFIC_MODELS)
    per_model = ", ".join(f"{k.split('_', 1)[1]} {timing[k]:.2f}s" for k in TRAFFIC_MODELS)
    return (
        f"{name}: {timing['wall']:.1f}s wall, dbt elapsed {timing['dbt']:.1f}s,"
        f" models {models:.1f}s ({per_model})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locations", type=int, default=500)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark lake")
    args = parser.parse_args()
    end = START + timedelta(days=args.days)
    work = Path(tempfile.mkdtemp(prefix="eventlake-traffic-bench-"))
    paths = lake_paths(work)
    delivery = LocalFirehoseDelivery(
        RawZone(paths.raw), TRAFFIC_FEED, TRAFFIC_STREAM, progress=False
    )
    lines: list[str] = [
        f"machine: {platform.machine()}, Python {platform.python_version()},"
        f" duckdb {duckdb.__version__}"
    ]
    try:
        started = time.perf_counter()
        result = simulate_traffic(
            TrafficSimulationConfig(
                locations=load_locations()[: args.locations],
                start=START,
                end=end + timedelta(hours=3),
                seed=1,
                malformed_fraction=0.001,
                duplicate_fraction=0.01,
                dropout_fraction=0.01,
                no_data_fraction=0.002,
                late_fraction=0.005,
            )
        )
        simulated = time.perf_counter() - started
        arrivals = result.records.arrivals_us
        cuts = [int((end + timedelta(hours=h)).timestamp() * 1e6) for h in range(4)]
        bounds = [int(np.searchsorted(arrivals, cut)) for cut in cuts]
        started = time.perf_counter()
        full_report = delivery.deliver(result.records[: bounds[0]])
        landed = time.perf_counter() - started
        lines.append(
            f"landing: {full_report.records:,} lines in {full_report.objects:,} objects;"
            f" simulate {simulated:.1f}s (the week and 3 more hours), land {landed:.1f}s"
        )
        run_dbt(["seed", "--select", "traffic_locations", "traffic_segments"], paths, quiet=True)

        full = _run(paths, "--full-refresh")
        lines.append(_describe("full refresh", full))
        with duckdb.connect(str(paths.duckdb_file), read_only=True) as con:
            rows, hours = con.execute(
                "select count(*), count(distinct measured_hour)"
                f" from {Relations.from_manifest().model('fct_traffic_measurements')}"
            ).fetchone()
        lines.append(f"  fact: {rows:,} measurements in {hours} hour partitions")

        hour_lines = delivery.deliver(result.records[bounds[0] : bounds[1]]).records
        increment = _run(paths)
        lines.append(
            _describe(f"+1 hour ({hour_lines:,} lines), dbt process", increment)
            + f" = {increment['wall'] / full['wall']:.1%} of the full refresh's wall time"
        )
        idle = _run(paths)
        lines.append(_describe("nothing new landed, dbt process (the floor)", idle))

        # A process that keeps dbt loaded: parse once, then run each increment in-process.
        from dbt.cli.main import dbtRunner

        os.environ["EVENTLAKE_DATA_DIR"] = str(paths.data_dir)
        project = str(ensure_profiles())
        flags = ["--project-dir", project, "--profiles-dir", project, "--quiet"]
        manifest = dbtRunner().invoke(["parse", *flags]).result
        warm = dbtRunner(manifest=manifest)
        for hour in (2, 3):
            count = delivery.deliver(result.records[bounds[hour - 1] : bounds[hour]]).records
            started = time.perf_counter()
            outcome = warm.invoke(["run", *SELECT, *flags])
            wall = time.perf_counter() - started
            if not outcome.success:
                raise RuntimeError(f"in-process dbt run failed: {outcome.exception}")
            timing = {"wall": wall, **model_seconds()}
            lines.append(
                _describe(f"+1 hour ({count:,} lines), warm in-process run {hour - 1}", timing)
                + f" = {wall / full['wall']:.1%} of the full refresh's wall time"
            )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
