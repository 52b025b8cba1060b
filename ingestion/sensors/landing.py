"""Simulate a batch of sensor readings and deliver it, once.

A batch is identified by its simulation config (same config, same records), so landing it again
is a no-op: re-running the demo or a backfill never duplicates raw data. Firehose and IoT Core
deliveries are not recorded here (AWS owns that state); the local raw zone is.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingestion.delivery import make_delivery
from ingestion.raw_zone import RawZone
from ingestion.sensors.anomalies import write_ground_truth
from ingestion.sensors.simulator import SimulationConfig, SimulationResult, simulate
from ingestion.settings import LakePaths
from ingestion.state import load_json_state, save_json_state

LIVE_FEED = "sensor_readings"
LIVE_STREAM = "eventlake-sensor-readings"


@dataclass(frozen=True)
class LandingReport:
    batch_id: str
    skipped: bool
    records: int
    objects: int
    malformed: dict[str, int]
    anomalies: int
    ground_truth: Path | None


def batch_id(config: SimulationConfig) -> str:
    fields = asdict(config)
    fields["rooms"] = list(config.rooms)
    canonical = repr(sorted((k, str(v)) for k, v in fields.items()))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def ground_truth_path(paths: LakePaths, batch: str) -> Path:
    return paths.lake / "labels" / "sensor_anomalies" / f"batch-{batch}.csv"


def land_simulation(
    config: SimulationConfig,
    paths: LakePaths,
    *,
    delivery: str = "local",
    gzip: bool = False,
    progress: bool = True,
    delivery_options: dict[str, Any] | None = None,
) -> LandingReport:
    """Simulate ``config`` and deliver it; a batch already landed locally is skipped."""
    batch = batch_id(config)
    manifest_file = paths.state / "simulated_batches.json"
    manifest: dict[str, Any] = load_json_state(manifest_file, {})
    if delivery == "local" and batch in manifest:
        done = manifest[batch]
        return LandingReport(
            batch,
            True,
            done["records"],
            done["objects"],
            done["malformed"],
            done["anomalies"],
            ground_truth_path(paths, batch),
        )
    result: SimulationResult = simulate(config)
    options = dict(delivery_options or {})
    if delivery == "local":
        options.update(raw_zone=RawZone(paths.raw), feed=LIVE_FEED, stream=LIVE_STREAM, gzip=gzip)
    options["progress"] = progress
    with make_delivery(delivery, **options) as sink:
        report = sink.deliver(result.records)
    truth = write_ground_truth(result.episodes, ground_truth_path(paths, batch))
    if delivery == "local":
        manifest[batch] = {
            "records": report.records,
            "objects": report.objects,
            "malformed": result.malformed_counts,
            "anomalies": len(result.episodes),
            "landed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "start": config.start.isoformat(),
            "end": config.end.isoformat(),
        }
        save_json_state(manifest_file, manifest)
    return LandingReport(
        batch,
        False,
        report.records,
        report.objects,
        result.malformed_counts,
        len(result.episodes),
        truth,
    )
