"""Benchmark: the ratios of issue 13's table, measured in one run on the same data.

Prints one line per ratio (measured, goal, whether it meets it) and the timings behind it;
docs/benchmarks.md and the README report them. Nothing here is asserted. Run with
`make benchmark` (or `.venv/bin/python benchmarks/bench_ratios.py [--locations N] [--days D]`).

Traffic: N detectors of the registry over D days, one measurement a minute (the issue used 400
detectors, 3 days, 1.73M lines; the default is smaller to keep the run to a few minutes), 0.1%
malformed lines, 1% duplicate deliveries, 0.5% measurements hours late. Where a ratio compares
two things they are measured in alternation, ``--repeat`` times, and the best of each is kept:
a bare DuckDB scan + JSON parse of the landed objects, then the traffic models' full refresh
twice, as a `dbt run` process of its own (as a scheduler starts it, dbt's start-up included)
and in a warm dbt (the project parsed once, as `eventlake run` runs its steps), then
``publish`` of the fact into an empty curated folder. Then two increments in the warm dbt,
measured once (each changes the lake): the next hour's on-time lines only, and the following
hour with the late lines of the hour before. Increments are compared with the warm full refresh:
what a dbt process adds to every command is printed beside them (a `dbt run` with nothing new).

Temperature: the CLI's default simulation (5 rooms, one reading a minute, a week), a full build
then one more hour, twice, each in a lake of its own: as `eventlake build` runs them (a dbt
process building everything, unit tests included) and as `eventlake run` runs its dbt_build step
(a warm dbt; the first run builds everything but the anomaly marts, a later one what reads the
feed that landed; no unit tests).

The PySpark peer (benchmarks/spark_traffic.py) is optional: measured once, on the lake of the
full refreshes, only when pyspark is installed (`make benchmark SPARK=1` installs the `spark`
extra; it is no dependency of the project), otherwise said so. `make test` is not timed here.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
from bench_raw_reader import blob_reader_sql
from bench_traffic_pipeline import SELECT, model_seconds

from ingestion.delivery import LocalFirehoseDelivery
from ingestion.raw_zone import RawZone
from ingestion.sensors import SimulationConfig, load_room_ids
from ingestion.sensors.landing import LIVE_FEED, land_simulation
from ingestion.sensors.simulator import ArrivalOrderedRecords
from ingestion.settings import PROJECT_ROOT, LakePaths, lake_paths
from ingestion.traffic import (
    TRAFFIC_FEED,
    TRAFFIC_STREAM,
    TrafficSimulationConfig,
    load_locations,
    simulate_traffic,
)
from orchestration.dbt_runner import WarmDbt, run_dbt
from orchestration.duckdb_functions import register_functions
from orchestration.pipeline import PIPELINE
from orchestration.publish import CURATED_TABLES, publish_table
from orchestration.relations import Relations
from orchestration.runner import narrowed_command

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
HOUR_US = 3_600_000_000
MEASURED_AT = "tijd_waarneming"  # the traffic line's measurement time, epoch seconds


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _bare_scan(paths: LakePaths, sql: str) -> None:
    """Every landed line read and parsed as JSON, as the staging model's reader does."""
    with register_functions(duckdb.connect()) as con:
        con.execute(
            f"select count(*), count(try(json_extract_string(line, '$.{MEASURED_AT}')))"
            f" from ({sql}) as lines"
        ).fetchone()


def _publish_traffic(paths: LakePaths) -> int:
    """The traffic fact published into an empty curated folder; partitions written."""
    relations = Relations.from_manifest()
    table = next(t for t in CURATED_TABLES if t.model == "fct_traffic_measurements")
    table = replace(table, relation=relations.model(table.model))
    shutil.rmtree(paths.curated / table.model, ignore_errors=True)
    with duckdb.connect(str(paths.duckdb_file), read_only=True) as con:
        return publish_table(con, table, paths.curated).partitions_written


def _spark_peer(paths: LakePaths, notes: list[str]) -> float | None:
    """The PySpark job doing the same traffic transform on the same lake (benchmarks/
    spark_traffic.py, session start included), once: seconds, or None without pyspark."""
    if importlib.util.find_spec("pyspark") is None:
        notes.append(
            "  PySpark peer: not measured, pyspark is not installed (the optional extra:"
            " `make benchmark SPARK=1`)"
        )
        return None
    from spark_traffic import compare, run_spark_traffic

    done = run_spark_traffic(paths)
    differences = {
        model: (only_ours, only_spark)
        for model, (_, only_ours, only_spark) in compare(paths, done).items()
    }
    notes.append(
        f"  PySpark `local[2]` peer: {done.seconds:.1f}s, measured once; rows only in ours /"
        f" only in Spark's: {differences}"
    )
    return done.seconds


def _on_time(payloads: list[str], arrivals_us: np.ndarray) -> np.ndarray:
    """Which lines were measured in the hour they arrived in (malformed ones count as on time)."""
    keep = np.ones(len(payloads), dtype=bool)
    for i, payload in enumerate(payloads):
        try:
            measured = int(json.loads(payload)[MEASURED_AT])
        except (ValueError, KeyError, TypeError):
            continue
        keep[i] = measured // 3600 == arrivals_us[i] // HOUR_US
    return keep


def _subset(records: ArrivalOrderedRecords, mask: np.ndarray) -> ArrivalOrderedRecords:
    kept = np.flatnonzero(mask)
    return ArrivalOrderedRecords(records.arrivals_us[kept], [records.payloads[i] for i in kept])


def _seconds(times: list[float]) -> str:
    return ", ".join(f"{t:.1f}" for t in times)


def _row(measure: str, value: float | None, goal: str, meets: Callable[[float], bool]) -> str:
    if value is None:
        return f"| {measure} | not measured | {goal} | |"
    met = ("yes" if meets(value) else "no") if goal else ""
    return f"| {measure} | {value:.2f} | {goal} | {met} |"


def traffic(args: argparse.Namespace, work: Path, notes: list[str]) -> list[str]:
    paths = lake_paths(work / "traffic")
    end = START + timedelta(days=args.days)
    result = simulate_traffic(
        TrafficSimulationConfig(
            locations=load_locations()[: args.locations],
            start=START,
            end=end + timedelta(hours=2),
            seed=1,
            malformed_fraction=0.001,
            duplicate_fraction=0.01,
            dropout_fraction=0.01,
            no_data_fraction=0.002,
            late_fraction=0.005,
        )
    )
    records = result.records
    delivery = LocalFirehoseDelivery(
        RawZone(paths.raw), TRAFFIC_FEED, TRAFFIC_STREAM, progress=False
    )
    cuts = [int((end + timedelta(hours=h)).timestamp() * 1e6) for h in range(3)]
    bounds = [int(np.searchsorted(records.arrivals_us, cut)) for cut in cuts]
    landed = delivery.deliver(records[: bounds[0]])
    notes.append(
        f"traffic: {landed.records:,} lines in {landed.objects:,} objects,"
        f" {args.locations} detectors, {args.days} days"
    )
    run_dbt(["seed", "--select", "traffic_locations", "traffic_segments"], paths, quiet=True)
    scan_sql = blob_reader_sql(f"{paths.raw}/{TRAFFIC_FEED}/*/*/*/*/*", paths.data_dir)

    warm = WarmDbt(paths)
    _ = warm.manifest  # dbt's parse, paid once before anything is timed

    scans, runs, warm_runs, publishes = [], [], [], []
    for _ in range(args.repeat):  # alternating, so a load change hits all four alike
        scans.append(_timed(lambda: _bare_scan(paths, scan_sql)))
        runs.append(_timed(lambda: run_dbt(["run", *SELECT, "--full-refresh"], paths, quiet=True)))
        warm_runs.append(_timed(lambda: warm.invoke(["run", *SELECT, "--full-refresh"])))
        partitions = 0

        def publish() -> None:
            nonlocal partitions
            partitions = _publish_traffic(paths)

        publishes.append(_timed(publish))
    scan, run, warm_run, published = min(scans), min(runs), min(warm_runs), min(publishes)
    models = model_seconds()  # of the last warm full refresh (publish runs no dbt)
    notes.append(
        f"  bare scan + JSON parse {scan:.1f}s, full refresh {run:.1f}s as a dbt process,"
        f" {warm_run:.1f}s in a warm dbt, publish {published:.1f}s ({partitions} hour partitions);"
        f" best of {args.repeat}: scans {_seconds(scans)}, processes {_seconds(runs)},"
        f" warm {_seconds(warm_runs)}, publishes {_seconds(publishes)}"
    )
    notes.append(
        "  the warm full refresh's models: "
        + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in models.items() if name != "dbt")
    )
    spark = _spark_peer(paths, notes)
    floor = _timed(lambda: run_dbt(["run", *SELECT], paths, quiet=True))
    warm_floor = _timed(lambda: warm.invoke(["run", *SELECT]))

    hour = records[bounds[0] : bounds[1]]
    on_time = _on_time(hour.payloads, hour.arrivals_us)
    first = delivery.deliver(_subset(hour, on_time)).records
    new_only = _timed(lambda: warm.invoke(["run", *SELECT]))
    late = _subset(hour, ~on_time)
    late_hours = {
        int(json.loads(p)[MEASURED_AT]) // 3600
        for p in late.payloads
        if p.startswith("{") and MEASURED_AT in p
    }
    second = (
        delivery.deliver(late).records + delivery.deliver(records[bounds[1] : bounds[2]]).records
    )
    with_late = _timed(lambda: warm.invoke(["run", *SELECT]))
    notes.append(
        f"  nothing new: {floor:.1f}s as a dbt process, {warm_floor:.1f}s in the warm dbt;"
        f" +1 hour, {first:,} on-time lines: {new_only:.1f}s; +1 hour, {second:,} lines of which"
        f" {len(late):,} late ones touching {len(late_hours)} earlier hours: {with_late:.1f}s"
        " (both in the warm dbt)"
    )
    return [
        _row(
            "PySpark `local[2]` / our traffic `dbt run` (process)",
            None if spark is None else spark / run,
            "",
            lambda _: True,
        ),
        _row(
            "the same, ours including the Parquet publish",
            None if spark is None else spark / (run + published),
            ">= 10x",
            lambda v: v >= 10,
        ),
        _row(
            "full traffic run (dbt process) / bare DuckDB scan + JSON parse",
            run / scan,
            "<= 2.5x",
            lambda v: v <= 2.5,
        ),
        _row(
            "full traffic run (warm dbt) / bare DuckDB scan + JSON parse",
            warm_run / scan,
            "<= 2.5x",
            lambda v: v <= 2.5,
        ),
        _row(
            f"publish of the traffic fact ({partitions} partitions) / traffic `dbt run` (process)",
            published / run,
            "<= 0.2x",
            lambda v: v <= 0.2,
        ),
        _row(
            "traffic +1 hour, new data only / full refresh (warm dbt)",
            new_only / warm_run,
            "<= 0.05",
            lambda v: v <= 0.05,
        ),
        _row(
            f"traffic +1 hour with {len(late):,} late lines touching {len(late_hours)} old hours"
            " / full refresh (warm dbt)",
            with_late / warm_run,
            "<= 0.15",
            lambda v: v <= 0.15,
        ),
    ]


def temperature(args: argparse.Namespace, work: Path, notes: list[str]) -> list[str]:
    """The CLI's default week, then one more hour: as `eventlake build` runs them (a dbt process,
    everything, unit tests included), and as `eventlake run` runs its dbt_build step (a warm dbt;
    the first run builds everything, a later one what reads the feeds that landed)."""
    process_paths = lake_paths(work / "temperature-process")
    warm_paths = lake_paths(work / "temperature-warm")
    warm = WarmDbt(warm_paths)
    _ = warm.manifest  # dbt's parse, paid once before anything is timed
    step = next(s for s in PIPELINE if s.name == "dbt_build")
    increment = narrowed_command(step, warm.manifest, [LIVE_FEED])
    return [
        _temperature_ratio(
            args,
            process_paths,
            "`eventlake build`, a dbt process",
            lambda: run_dbt(["build"], process_paths, quiet=True),
            lambda: run_dbt(["build"], process_paths, quiet=True),
            notes,
        ),
        _temperature_ratio(
            args,
            warm_paths,
            "`eventlake run`'s dbt_build, warm dbt",
            lambda: warm.invoke(step.command),
            lambda: warm.invoke(increment),
            notes,
        ),
    ]


def _temperature_ratio(
    args: argparse.Namespace,
    paths: LakePaths,
    how: str,
    full_build: Callable[[], object],
    increment_build: Callable[[], object],
    notes: list[str],
) -> str:
    rooms = load_room_ids(PROJECT_ROOT / "seeds" / "rooms.csv")[: args.rooms]
    end = START + timedelta(days=args.temperature_days)

    def land(start: datetime, stop: datetime, seed: int) -> int:
        config = SimulationConfig(rooms=rooms, start=start, end=stop, seed=seed)
        return land_simulation(config, paths, progress=False).records

    readings = land(START, end, seed=1)
    full = _timed(full_build)
    hour = land(end, end + timedelta(hours=1), seed=2)
    increment = _timed(increment_build)
    idle = _timed(increment_build)
    notes.append(
        f"temperature, {how}: {readings:,} readings ({len(rooms)} rooms,"
        f" {args.temperature_days} days): full build {full:.1f}s; +1 hour ({hour:,} readings)"
        f" {increment:.1f}s; the same with nothing new {idle:.1f}s"
    )
    return _row(
        f"temperature +1 hour / full build ({how})",
        increment / full,
        "<= 0.10",
        lambda v: v <= 0.10,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locations", type=int, default=100, help="traffic detectors (400)")
    parser.add_argument("--days", type=int, default=3, help="days of traffic (3)")
    parser.add_argument("--rooms", type=int, default=5, help="temperature rooms (5)")
    parser.add_argument("--temperature-days", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=2, help="alternating pairs (best kept)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark lakes")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="eventlake-ratios-"))
    notes = [
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.machine()} with"
        f" {len(os.sched_getaffinity(0))} cores,"
        f" Python {platform.python_version()}, duckdb {duckdb.__version__}"
    ]
    try:
        rows = traffic(args, work, notes) + temperature(args, work, notes)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    notes.append("`make test`: not timed here")
    print(
        "\n".join(["| measure | measured | goal | meets |", "|---|---|---|---|", *rows, "", *notes])
    )


if __name__ == "__main__":
    main()
