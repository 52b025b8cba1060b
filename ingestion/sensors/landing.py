"""Simulate a batch of sensor readings and deliver it, once.

A batch is identified by its simulation config (same config, same records), so landing it again
is a no-op: re-running the demo or a backfill never duplicates raw data. Firehose and IoT Core
deliveries are not recorded here (AWS owns that state); the local raw zone is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingestion.batches import LandedBatches, config_batch_id
from ingestion.delivery import make_delivery
from ingestion.raw_zone import RawZone
from ingestion.sensors.anomalies import write_ground_truth
from ingestion.sensors.simulator import SimulationConfig, SimulationResult, simulate
from ingestion.settings import LakePaths

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
    batch = config_batch_id(config)
    landed = LandedBatches(paths.state / "simulated_batches.json")
    done = landed.get(batch) if delivery == "local" else None
    if done is not None:
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
        # Named by batch: a re-run after a crash lands only the objects still missing.
        options.update(
            raw_zone=RawZone(paths.raw),
            feed=LIVE_FEED,
            stream=LIVE_STREAM,
            gzip=gzip,
            batch=batch,
        )
    options["progress"] = progress
    with make_delivery(delivery, **options) as sink:
        report = sink.deliver(result.records)
    truth = write_ground_truth(result.episodes, ground_truth_path(paths, batch))
    if delivery == "local":
        landed.record(
            batch,
            {
                "records": report.records,
                "objects": report.objects,
                "malformed": result.malformed_counts,
                "anomalies": len(result.episodes),
                "landed_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "start": config.start.isoformat(),
                "end": config.end.isoformat(),
            },
        )
    return LandingReport(
        batch,
        False,
        report.records,
        report.objects,
        result.malformed_counts,
        len(result.episodes),
        truth,
    )
