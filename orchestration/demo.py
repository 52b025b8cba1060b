"""The demo's data: everything the pipeline would receive in a week, simulated on this machine.

`eventlake demo` makes the data, then runs the pipeline (``orchestration.runner``, the order in
``orchestration.pipeline``); ``--simulate-only`` stops after the data, for `make demo`, which runs
`eventlake run` itself. What is simulated: a week of live readings landed as Firehose would, two
days of traffic measurements, the seismic daily files (landed) and a USGS export (to import),
historical CSV exports and the sensor database (for the import steps). Every piece is made once,
so simulating twice lands nothing new and the second run skips.

The history files and the database continue the live sensors: the same rooms with the same
physics (``SimulationConfig.physics_seed`` is the live seed), other noise, so where the feeds meet
there is no seam for the anomaly detectors to flag. After the run the demo judges the detectors
against the live feed's labelled anomalies (``ml.evaluate``).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingestion.history.database import create_demo_database, default_demo_url
from ingestion.raw_zone import atomic_write_bytes
from ingestion.seismic import SeismicConfig
from ingestion.seismic.landing import land_seismic
from ingestion.sensors import SimulationConfig, load_room_ids, simulate
from ingestion.sensors.landing import land_simulation
from ingestion.settings import PROJECT_ROOT, LakePaths
from ingestion.traffic import TrafficSimulationConfig, land_traffic, load_locations
from orchestration.dashboards import dashboards_dir
from orchestration.run_records import records_dir
from orchestration.runner import RunOptions, run_pipeline

ROOM_REGISTRY = PROJECT_ROOT / "seeds" / "rooms.csv"
# Historical rows a real export would contain and the pipeline must quarantine, not drop.
BAD_HISTORY_ROWS = (
    {"timestamp": "2024-13-01 00:00:00", "room_id": "A101", "temp": "20.5"},
    {"timestamp": "", "room_id": "A102", "temp": "19.0"},
    {"timestamp": "2024-06-01 12:00:00", "room_id": "A101", "temp": "n/a"},
)


# Seismic share of the demo: a few hundred events a day keeps its cost to a couple of seconds.
SEISMIC_EVENTS_PER_DAY = 150


def write_usgs_file(folder: Path, end: datetime) -> Path:
    """A small USGS-style export (epoch-ms times, `place`, positive depth), made once; one of
    its events has no depth, which the pipeline must quarantine rather than drop or fix."""
    path = folder / f"usgs_{end:%Y-%m-%d}.geojson"
    if path.exists():
        return path
    at = int((end - timedelta(hours=6)).timestamp() * 1000)
    events = (
        ("us6000demo1", 142.4, 38.1, 41.0, 5.8, "near the east coast of Honshu, Japan"),
        ("us6000demo2", -177.6, -24.9, 412.0, 4.9, "south of the Fiji Islands"),
        ("us6000demo3", -71.4, -19.6, None, 4.4, "Tarapaca, Chile"),
    )
    features = [
        {
            "type": "Feature",
            "id": event_id,
            "geometry": {"type": "Point", "coordinates": [lon, lat, depth]},
            "properties": {"mag": mag, "place": place, "time": at, "updated": at + 600_000,
                           "magType": "mww", "net": "us", "code": event_id[2:],
                           "type": "earthquake"},
        }
        for event_id, lon, lat, depth, mag, place in events
    ]  # fmt: skip
    body = {"type": "FeatureCollection", "metadata": {"count": len(features)}, "features": features}
    atomic_write_bytes(path, json.dumps(body).encode(), staging_root=folder / ".staging")
    return path


@dataclass(frozen=True)
class DemoConfig:
    end: datetime
    days: int = 7
    rooms: int = 5
    seed: int = 7
    history_days: int = 14
    traffic_days: int = 2
    traffic_locations: int = 48
    progress: bool = True

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=self.days)


@dataclass
class DemoReport:
    steps: list[tuple[str, float, str]] = field(default_factory=list)

    def timed(self, name: str, action: Callable[[], str], say: Callable[[str], None]) -> None:
        say(f"==> {name}")
        started = time.perf_counter()
        detail = action()
        elapsed = time.perf_counter() - started
        self.steps.append((name, elapsed, detail))
        say(f"    {detail} ({elapsed:.1f}s)")


def default_end(now: datetime | None = None) -> datetime:
    """The demo's week ends at the start of the current hour, so source freshness is green."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def write_history_csv(
    folder: Path,
    rooms: list[str],
    start: datetime,
    end: datetime,
    seed: int,
    physics_seed: int | None = None,
) -> int:
    """Historical CSV exports (the seed's temp/room_id/timestamp), one file per day, made once;
    ``physics_seed``: the simulation whose rooms they continue (default ``seed``)."""
    marker = folder / "_complete.json"
    if marker.exists():
        return 0
    result = simulate(
        SimulationConfig(
            rooms=rooms,
            start=start,
            end=end,
            cadence=timedelta(minutes=5),
            seed=seed,
            physics_seed=physics_seed,
        )
    )
    by_day: dict[str, list[dict[str, str]]] = {}
    for _, payload in result.records:
        record = json.loads(payload)
        by_day.setdefault(record["timestamp"][:10], []).append(
            {
                "timestamp": record["timestamp"],
                "room_id": record["room_id"],
                "temp": str(record["temperature"]),
            }
        )
    first_day = min(by_day)
    by_day[first_day].extend(BAD_HISTORY_ROWS)
    for day, rows in sorted(by_day.items()):
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer, fieldnames=["timestamp", "room_id", "temp"], lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_bytes(
            folder / f"temperatures_{day}.csv",
            buffer.getvalue().encode(),
            staging_root=folder / ".staging",
        )
    atomic_write_bytes(
        marker, json.dumps({"files": len(by_day)}).encode(), staging_root=folder / ".staging"
    )
    return len(by_day)


def simulate_demo_data(
    config: DemoConfig, paths: LakePaths, say: Callable[[str], None] = print
) -> DemoReport:
    """Land the simulated feeds and write the files and database the import steps read."""
    rooms = load_room_ids(ROOM_REGISTRY)[: config.rooms]
    report = DemoReport()
    sources = paths.data_dir / "sources"

    def live() -> str:
        landing = land_simulation(
            SimulationConfig(
                rooms=rooms,
                start=config.start,
                end=config.end,
                seed=config.seed,
                malformed_fraction=0.01,
                anomalies=True,
                dropout_fraction=0.005,
                duplicate_fraction=0.01,
                late_fraction=0.01,
                arrivals_not_after=config.end,  # the week ends this hour: nothing lands later
            ),
            paths,
            progress=config.progress,
        )
        if landing.skipped:
            return f"batch {landing.batch_id} already landed ({landing.records:,} records): skipped"
        bad = sum(landing.malformed.values())
        return (
            f"{landing.records:,} records in {landing.objects:,} objects ({bad:,} malformed, "
            f"{landing.anomalies} labelled anomalies -> {landing.ground_truth})"
        )

    def traffic() -> str:
        landing = land_traffic(
            TrafficSimulationConfig(
                locations=load_locations()[: config.traffic_locations],
                start=config.end - timedelta(days=config.traffic_days),
                end=config.end,
                seed=config.seed,
                malformed_fraction=0.002,
                duplicate_fraction=0.01,
                dropout_fraction=0.01,
                no_data_fraction=0.003,
                late_fraction=0.01,
                arrivals_not_after=config.end,
            ),
            paths,
            progress=config.progress,
        )
        if landing.skipped:
            return f"batch {landing.batch_id} already landed ({landing.records:,} records): skipped"
        return (
            f"{landing.records:,} measurements in {landing.objects:,} objects "
            f"({sum(landing.malformed.values()):,} malformed; {landing.cross_hour:,} arrive in "
            "another hour than they were measured in)"
        )

    def history_files() -> str:
        history_end = config.start + timedelta(days=1)  # one day overlaps the live week
        written = write_history_csv(
            sources / "history_csv",
            rooms,
            history_end - timedelta(days=config.history_days),
            history_end,
            config.seed + 1,
            physics_seed=config.seed,  # the live feed's rooms, earlier
        )
        return f"{written} CSV files written to {sources / 'history_csv'}"

    def database() -> str:
        database_file = paths.data_dir / "history_source.sqlite"
        if database_file.exists():
            return f"{database_file} already made"
        created = create_demo_database(
            default_demo_url(paths),
            rooms=rooms,
            start=config.start - timedelta(days=3),
            end=config.end - timedelta(days=2),
            seed=config.seed + 2,
            physics_seed=config.seed,
        )
        return f"{created:,} rows created in {database_file}"

    def seismic() -> str:
        landing = land_seismic(
            SeismicConfig(
                start=(config.end - timedelta(days=config.days)).date(),
                days=config.days,
                events_per_day=SEISMIC_EVENTS_PER_DAY,
                seed=config.seed,
                invalid_fraction=0.02,
            ),
            paths,
            arrivals_not_after=config.end,
        )
        usgs = write_usgs_file(sources / "seismic_usgs", config.end)
        return f"{landing.describe()}; USGS export {usgs.name} ready to import"

    report.timed("simulate and land live readings (local Firehose)", live, say)
    report.timed("simulate and land traffic measurements (local Firehose)", traffic, say)
    report.timed("write historical CSV exports", history_files, say)
    report.timed("make the sensor database", database, say)
    report.timed("simulate and land seismic daily files, write a USGS export", seismic, say)
    return report


def _detection(paths: LakePaths) -> str:
    """The detectors against the live feed's labels, or why they could not be judged."""
    from ml.evaluate import evaluate_warehouse

    try:
        return evaluate_warehouse(paths)
    except (FileNotFoundError, ValueError) as exc:
        return f"Detection against the simulator's labels: not judged ({exc})"


def run_demo(
    config: DemoConfig,
    paths: LakePaths,
    say: Callable[[str], None] = print,
    *,
    simulate_only: bool = False,
) -> int:
    """Simulate the data, then run the pipeline (``eventlake run``); the run's exit code."""
    simulate_demo_data(config, paths, say)
    if simulate_only:
        say("demo data ready: `eventlake run` runs the pipeline on it")
        return 0
    say("")
    result = run_pipeline(paths, RunOptions(progress=config.progress), say)
    if result.outcome not in ("succeeded", "skipped"):
        return result.exit_code
    say("")
    say(_detection(paths))
    say("")
    say("Outputs:")
    say(f"  warehouse (DuckDB)   {paths.duckdb_file}")
    say(f"  raw zone             {paths.raw}")
    say(f"  curated Parquet      {paths.curated}")
    say(f"  anomaly labels       {paths.lake / 'labels' / 'sensor_anomalies'}")
    say(f"  anomaly scores       {paths.ml / 'anomaly_scores'}")
    say(f"  run records          {records_dir(paths)}")
    say("  quarantine           quarantine_rejected_rows in the warehouse")
    say("  lineage and docs     make docs (dbt docs generate + serve)")
    say(f"  dashboards           {dashboards_dir(paths) / 'index.html'}")
    return result.exit_code
