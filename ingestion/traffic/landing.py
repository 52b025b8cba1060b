"""Simulate a batch of traffic measurements and land it like Firehose, once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ingestion.batches import LandedBatches, config_batch_id
from ingestion.delivery.local import LocalFirehoseDelivery
from ingestion.raw_zone import RawZone
from ingestion.settings import LakePaths
from ingestion.traffic.simulator import TrafficSimulationConfig, simulate_traffic

TRAFFIC_FEED = "traffic_measurements"
TRAFFIC_STREAM = "eventlake-traffic-measurements"


@dataclass(frozen=True)
class TrafficLandingReport:
    batch_id: str
    skipped: bool
    records: int
    objects: int
    malformed: dict[str, int]
    cross_hour: int


def land_traffic(
    config: TrafficSimulationConfig, paths: LakePaths, *, gzip: bool = False, progress: bool = True
) -> TrafficLandingReport:
    """Simulate ``config`` and land it in the local raw zone; a landed batch is skipped."""
    batch = config_batch_id(config)
    landed = LandedBatches(paths.state / "traffic_batches.json")
    done = landed.get(batch)
    if done is not None:
        return TrafficLandingReport(
            batch, True, done["records"], done["objects"], done["malformed"], done["cross_hour"]
        )
    result = simulate_traffic(config)
    # Named by batch: a re-run after a crash lands only the objects still missing.
    delivery = LocalFirehoseDelivery(
        RawZone(paths.raw), TRAFFIC_FEED, TRAFFIC_STREAM, gzip=gzip, progress=progress, batch=batch
    )
    with delivery:
        report = delivery.deliver(result.records)
    landed.record(
        batch,
        {
            "records": report.records,
            "objects": report.objects,
            "malformed": result.malformed_counts,
            "cross_hour": result.cross_hour_count,
            "landed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "start": config.start.isoformat(),
            "end": config.end.isoformat(),
        },
    )
    return TrafficLandingReport(
        batch,
        False,
        report.records,
        report.objects,
        result.malformed_counts,
        result.cross_hour_count,
    )
