"""Benchmark: 1,000,000 seismic events through flatten, UTM and aggregation on DuckDB.

Prints its figures; the README reports them. Nothing is asserted: speed is measured, not tested.
Run with `make benchmark-seismic` (or `.venv/bin/python benchmarks/bench_seismic_pipeline.py`).

Set-up: 1,000 daily EMSC files of 1,000 events on average (about 2.7 years), 20% of events
revised in the next day's file (so ~1.24 M features land), 1% invalid features, 2 broken files,
one object (one line of ~0.5 MB) per day. Steps timed:
  1. simulate (numpy + Arrow) and land the 1,000 objects;
  2. `dbt build` of the seismic chain and the quarantine (staging flatten + parse,
     de-duplication, UTM, fact, zone aggregate, their data and unit tests): wall and dbt elapsed;
  3. the SQL alone, re-run in one DuckDB connection from dbt's compiled SQL: flatten + parse +
     checks (staging), dedup + UTM (intermediate), the zone aggregate with NTILE.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import duckdb

from ingestion.raw_zone import RawZone
from ingestion.seismic import SeismicConfig, simulate_seismic
from ingestion.seismic.landing import ARRIVAL_DELAY, FEED, STREAM
from ingestion.settings import PROJECT_ROOT, lake_paths
from orchestration.dbt_runner import run_dbt
from orchestration.relations import Relations

CONFIG = SeismicConfig(
    start=date(2023, 1, 1),
    days=1_000,
    events_per_day=1_000,
    seed=1,
    update_fraction=0.2,
    invalid_fraction=0.01,
    broken_files=2,
)
# the seismic chain, the quarantine it feeds and the reasons seed its tests check against
SELECTION = (
    *("--select", "quarantine_reasons", "+agg_seismic_utm_zones", "+quarantine_rejected_rows"),
    *("--exclude", "assert_every_landed_line_is_accepted_or_quarantined"),  # temperature's
    # the quarantine also reads the other feeds' staging: their tests that reach beyond the
    # selection (relationships to unselected seeds and marts) are left out
    *("--indirect-selection", "cautious"),
)
COMPILED = PROJECT_ROOT / "target" / "compiled" / "eventlake" / "models"
SQL_STEPS = (
    ("staging: flatten, parse, check", "staging/seismic/stg_seismic__features.sql"),
    ("intermediate: dedup + UTM", "intermediate/seismic/int_seismic_events_projected_to_utm.sql"),
    ("marts: zone aggregate + NTILE", "marts/seismic/agg_seismic_utm_zones.sql"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the lake (printed) afterwards")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="eventlake-bench-seismic-"))
    paths = lake_paths(workdir)
    try:
        started = time.perf_counter()
        result = simulate_seismic(CONFIG)
        simulated = time.perf_counter()
        zone = RawZone(paths.raw)
        for daily in result.files:
            arrival = datetime.combine(daily.day + timedelta(days=1), clock(), UTC)
            zone.write_object(FEED, STREAM, [daily.line], arrival + ARRIVAL_DELAY)
        landed = time.perf_counter()
        size = sum(len(f.line) for f in result.files)
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cpus,"
            f" python {platform.python_version()}"
        )
        print(
            f"simulate {result.events:,} events ({result.features:,} features, {size / 1e6:.0f} MB"
            f" in {len(result.files)} daily lines): {simulated - started:.1f} s;"
            f" land {len(result.files)} objects: {landed - simulated:.1f} s"
        )

        t0 = time.perf_counter()
        run_dbt(["build", *SELECTION], paths, quiet=True)
        wall = time.perf_counter() - t0
        results = json.loads((PROJECT_ROOT / "target" / "run_results.json").read_text())
        timings = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results["results"]}
        models = {
            k: v
            for k, v in timings.items()
            if "seismic" in k
            and not k.startswith(("not_", "primary_", "relationships", "accepted", "eventlake_"))
        }
        print(
            f"dbt build {' '.join(SELECTION)}: {wall:.1f} s wall,"
            f" dbt elapsed {results['elapsed_time']:.1f} s"
        )
        for name, seconds in sorted(models.items(), key=lambda kv: -kv[1]):
            print(f"  {name:<55} {seconds:6.2f} s")

        with duckdb.connect(str(paths.duckdb_file)) as con:
            total = 0.0
            for name, relative in SQL_STEPS:
                sql = (COMPILED / relative).read_text()
                s0 = time.perf_counter()
                con.execute(f"create or replace temp table bench_step as {sql}")
                seconds = time.perf_counter() - s0
                total += seconds
                rows = con.execute("select count(*) from bench_step").fetchone()[0]
                print(f"SQL alone, {name:<32} {seconds:6.2f} s ({rows:,} rows)")
            print(f"SQL alone, flatten + UTM + aggregation total   {total:6.2f} s (target <= 20 s)")
            (events,) = con.execute(
                f"select count(*) from {Relations.from_manifest().model('fct_seismic_events')}"
            ).fetchone()
            print(f"events in fct_seismic_events: {events:,}")
    finally:
        if args.keep:
            print(f"lake kept at {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
