"""The main job: every pipeline on the local DuckDB lake, end to end.

simulate a week of live readings -> land them as Firehose would -> simulate and land two days of
traffic measurements -> import historical CSV files -> extract the sensor database incrementally
-> dbt build -> publish curated Parquet -> report.
Every step is idempotent, so running the demo twice gives the same marts.
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

from ingestion.history.database import create_demo_database, default_demo_url, extract_database
from ingestion.history.files import import_history_files
from ingestion.raw_zone import atomic_write_bytes
from ingestion.seismic import SeismicConfig
from ingestion.seismic.importer import import_seismic_files
from ingestion.seismic.landing import land_seismic
from ingestion.sensors import SimulationConfig, load_room_ids, simulate
from ingestion.sensors.landing import land_simulation
from ingestion.settings import PROJECT_ROOT, LakePaths
from ingestion.traffic import TrafficSimulationConfig, land_traffic, load_locations
from orchestration.dashboards import write_dashboards
from orchestration.dbt_runner import run_dbt
from orchestration.publish import publish_curated
from orchestration.summary import read_summary

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
    folder: Path, rooms: list[str], start: datetime, end: datetime, seed: int
) -> int:
    """Historical CSV exports (the seed's temp/room_id/timestamp), one file per day, made once."""
    marker = folder / "_complete.json"
    if marker.exists():
        return 0
    result = simulate(
        SimulationConfig(rooms=rooms, start=start, end=end, cadence=timedelta(minutes=5), seed=seed)
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


def run_demo(
    config: DemoConfig, paths: LakePaths, say: Callable[[str], None] = print
) -> DemoReport:
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
        )
        imported = import_history_files(
            sources / "history_csv", paths=paths, progress=config.progress
        )
        return (
            f"{written} CSV files written; {imported.files_imported} imported, "
            f"{imported.files_skipped} already imported, {imported.lines_landed:,} lines landed"
        )

    def database() -> str:
        url = default_demo_url(paths)
        database_file = paths.data_dir / "history_source.sqlite"
        created = 0
        if not database_file.exists():
            created = create_demo_database(
                url,
                rooms=rooms,
                start=config.start - timedelta(days=3),
                end=config.end - timedelta(days=2),
                seed=config.seed + 2,
            )
        extracted = extract_database(url, paths=paths)
        return (
            f"{created:,} rows created in the demo database; {extracted.rows_extracted:,} rows "
            f"extracted in {extracted.chunks} chunks (high-water mark {extracted.describe_mark()})"
        )

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
        imported = import_seismic_files(usgs.parent, paths=paths, progress=config.progress)
        return f"{landing.describe()}; {imported.describe()}"

    def build() -> str:
        run_dbt(["build"], paths)
        return "dbt build passed (seeds, snapshot, models, data and unit tests)"

    def freshness() -> str:
        run_dbt(["source", "freshness"], paths, check=False, quiet=True)
        results = json.loads((PROJECT_ROOT / "target" / "sources.json").read_text())["results"]
        return ", ".join(f"{r['unique_id'].split('.', 2)[-1]}: {r['status']}" for r in results)

    def publish() -> str:
        published = publish_curated(paths)
        return "; ".join(p.describe() for p in published)

    def anomalies() -> str:
        from ml import pipeline
        from ml.config import RcfConfig

        config = RcfConfig.from_env()
        trained = pipeline.train(paths, config)
        scored = pipeline.score(paths)
        run_dbt(["build", "--select", "stg_ml_scores__anomaly_scores+"], paths, quiet=True)
        new_models = sum(not t.skipped for t in trained)
        landed = sum(not r.skipped for r, _ in scored)
        return (
            f"{new_models} of {len(trained)} room models trained, {landed} rooms re-scored"
            f" (shingle {config.shingle_size}); anomaly marts built"
        )

    report.timed("simulate and land live readings (local Firehose)", live, say)
    report.timed("simulate and land traffic measurements (local Firehose)", traffic, say)
    report.timed("import historical CSV files", history_files, say)
    report.timed("extract the sensor database", database, say)
    report.timed("simulate, land and import seismic files", seismic, say)
    report.timed("dbt build on DuckDB", build, say)
    report.timed("publish curated Parquet", publish, say)
    report.timed("anomaly detection (local RCF per room) and anomaly marts", anomalies, say)
    # after scoring: the ml_scores source is only fresh once this run has scored
    report.timed("source freshness", freshness, say)
    say("")
    say(read_summary(paths).render())
    say("")
    say("Outputs:")
    say(f"  warehouse (DuckDB)   {paths.duckdb_file}")
    say(f"  raw zone             {paths.raw}")
    say(f"  curated Parquet      {paths.curated}")
    say(f"  anomaly labels       {paths.lake / 'labels' / 'sensor_anomalies'}")
    say(f"  anomaly scores       {paths.ml / 'anomaly_scores'}")
    say("  quarantine           main_quarantine.quarantine_rejected_rows in the warehouse")
    say("  lineage and docs     make docs (dbt docs generate + serve)")
    say(f"  dashboards           {write_dashboards(paths)}")
    return report
