"""Land simulated daily seismic files in the raw zone, once per batch.

Each daily FeatureCollection is one object holding one line, named by its processing time
(the day after the events, shortly after midnight UTC, as a daily export would land). A batch is
identified by its config, so landing it again is a no-op; its labels (what the SQL must accept
and quarantine) are kept in the manifest for tests and the demo.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from ingestion.raw_zone import RawZone, batch_object_id
from ingestion.seismic.generator import SeismicConfig, simulate_seismic
from ingestion.settings import LakePaths
from ingestion.state import load_json_state, save_json_state

FEED = "seismic_events"
STREAM = "eventlake-seismic-events"
MANIFEST_NAME = "seismic_batches.json"
ARRIVAL_DELAY = timedelta(minutes=15)


@dataclass(frozen=True)
class SeismicLanding:
    batch_id: str
    skipped: bool
    files: int
    events: int
    features: int
    accepted_features: int
    accepted_events: int
    rejected: dict[str, int]

    def describe(self) -> str:
        state = "already landed, skipped" if self.skipped else "landed"
        return (
            f"{self.files} daily files ({self.events:,} events, {self.features:,} features, "
            f"{sum(self.rejected.values()):,} broken) {state}"
        )


def batch_id(config: SeismicConfig) -> str:
    canonical = repr(sorted((k, str(v)) for k, v in asdict(config).items()))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def land_seismic(
    config: SeismicConfig, paths: LakePaths, *, arrivals_not_after: datetime | None = None
) -> SeismicLanding:
    """Simulate ``config`` and land one object per day; a batch already landed is skipped."""
    batch = batch_id(config)
    manifest_file = paths.state / MANIFEST_NAME
    manifest: dict[str, Any] = load_json_state(manifest_file, {})
    if batch in manifest:
        return SeismicLanding(batch, True, **manifest[batch]["labels"])
    result = simulate_seismic(config)
    zone = RawZone(paths.raw)
    for sequence, daily in enumerate(result.files):
        arrival = datetime.combine(daily.day + timedelta(days=1), time(), UTC) + ARRIVAL_DELAY
        if arrivals_not_after is not None:
            arrival = min(arrival, arrivals_not_after)
        # Named by batch and day: a re-run after a crash lands only the days still missing.
        object_id = batch_object_id(batch, sequence)
        zone.write_object(FEED, STREAM, [daily.line], arrival, object_id=object_id)
    labels = {
        "files": len(result.files),
        "events": result.events,
        "features": result.features,
        "accepted_features": result.accepted_features,
        "accepted_events": result.accepted_events,
        "rejected": result.rejected,
    }
    manifest[batch] = {
        "labels": labels,
        "start": config.start.isoformat(),
        "days": config.days,
        "landed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    save_json_state(manifest_file, manifest)
    return SeismicLanding(batch, False, **labels)
