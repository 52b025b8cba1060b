"""Benchmark: DuckDB's raw reader, blobs split in SQL (now) against read_csv (before), on the
same objects.

Prints its figures; docs/reliability.md reports them. Nothing here is asserted. Run with
`.venv/bin/python benchmarks/bench_raw_reader.py [--locations N] [--hours H]`.

Set-up: a simulated traffic feed (N detectors, H hours, one measurement a minute per detector)
landed by the local Firehose delivery, once plain and once gzip-compressed. The blob reader's
SQL is compiled from the macro itself (`dbt compile --inline`), so the figure is for the code
the staging models run. Each reader runs `count(*), sum(strlen(line))` over every object
three times; the best time is reported.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from ingestion.delivery import LocalFirehoseDelivery
from ingestion.raw_zone import RawZone
from ingestion.settings import lake_paths
from ingestion.traffic import (
    TRAFFIC_FEED,
    TRAFFIC_STREAM,
    TrafficSimulationConfig,
    load_locations,
    simulate_traffic,
)
from orchestration.dbt_runner import dbt_executable, ensure_profiles
from orchestration.duckdb_functions import register_functions

START = datetime(2026, 11, 2, tzinfo=UTC)
MAX_LINE_BYTES = 2 * 1024 * 1024
CSV_READER = """
select line, filename as source_file
from read_csv(
    '{glob}', columns = {{'line': 'VARCHAR'}}, delim = chr(31), quote = '', escape = '',
    header = false, auto_detect = false, strict_mode = false, null_padding = true,
    filename = true, compression = 'auto'
)
"""


def land(root: Path, locations: int, hours: int, *, gzip: bool) -> str:
    config = TrafficSimulationConfig(
        locations=load_locations()[:locations],
        start=START,
        end=START + timedelta(hours=hours),
        seed=3,
    )
    result = simulate_traffic(config)
    delivery = LocalFirehoseDelivery(
        RawZone(root), TRAFFIC_FEED, TRAFFIC_STREAM, gzip=gzip, progress=False
    )
    with delivery:
        delivery.deliver(result.records)
    return f"{root}/{TRAFFIC_FEED}/*/*/*/*/*"


def blob_reader_sql(glob: str, data_dir: Path) -> str:
    """The reader's SELECT as the dbt macro compiles it."""
    project = ensure_profiles()
    done = subprocess.run(
        [dbt_executable(), "--quiet", "compile", "--project-dir", str(project),
         "--profiles-dir", str(project), "--inline",
         f"{{{{ eventlake.raw_object_lines('{glob}', {MAX_LINE_BYTES}) }}}}"],
        capture_output=True, text=True, check=True, cwd=project,
        env={**os.environ, "EVENTLAKE_DATA_DIR": str(data_dir)},
    )  # fmt: skip
    return done.stdout.strip()


def best_of(con: duckdb.DuckDBPyConnection, sql: str, runs: int = 3) -> tuple[float, tuple]:
    times, result = [], ()
    for _ in range(runs):
        started = time.perf_counter()
        result = con.execute(f"select count(*), sum(strlen(line)) from ({sql}) as lines").fetchone()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locations", type=int, default=200)
    parser.add_argument("--hours", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        lake_paths(data_dir).data_dir.mkdir(exist_ok=True)
        con = register_functions(duckdb.connect())
        con.execute("set threads = 2")
        for gzip in (False, True):
            glob = land(
                data_dir / ("gz" if gzip else "plain"), args.locations, args.hours, gzip=gzip
            )
            files = con.execute(f"select count(*), sum(size) from read_blob('{glob}')").fetchone()
            blob_seconds, blob = best_of(con, blob_reader_sql(glob, data_dir))
            csv_seconds, csv = best_of(con, CSV_READER.format(glob=glob))
            label = "gzip" if gzip else "plain"
            print(
                f"{label}: {files[0]} objects, {files[1] / 1e6:.1f} MB on disk, {blob[0]} lines;"
                f" blob reader {blob_seconds:.2f} s, read_csv {csv_seconds:.2f} s"
                f" (same lines and bytes: {blob == csv})"
            )


if __name__ == "__main__":
    main()
