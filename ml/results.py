"""Anomaly scores back in the lake: ml/anomaly_scores/room_id=<r>/reading_date=<d>/part-0.parquet.

Hive-partitioned Parquet (the partition columns live in the path, not the file), read by dbt as
the source ``ml.anomaly_scores``. Re-scoring a room replaces its partitions: every date file is
written under a staging name and renamed into place (a reader sees the old file or the new one,
never half of one), then the room's dates that are no longer scored are removed, and the room's
manifest is written last. Scoring the same data with the same model again is skipped, so a re-run
neither duplicates rows nor changes ``landed_at``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.raw_zone import atomic_write_bytes, clean_staging, staging_file, staging_root_for

SCORES_TABLE = "anomaly_scores"
MANIFEST = "_scored.json"
SCHEMA = pa.schema(
    [
        ("reading_id", pa.string()),
        ("reading_at", pa.timestamp("us")),
        ("temperature_c", pa.float64()),
        ("anomaly_score", pa.float64()),
        ("score_threshold", pa.float64()),
        ("is_anomaly", pa.bool_()),
        ("model_version", pa.string()),
        ("trained_at", pa.timestamp("us")),
        ("engine", pa.string()),
        ("landed_at", pa.timestamp("us")),
    ]
)


@dataclass(frozen=True)
class ScoredRoom:
    """Scores of one room's readings by one model, with the threshold that flags them."""

    room_id: str
    reading_ids: np.ndarray
    reading_at: np.ndarray  # datetime64, UTC
    temperature_c: np.ndarray
    scores: np.ndarray
    threshold: float
    model_version: str
    trained_at: datetime  # UTC
    engine: str
    data_fingerprint: str

    def __post_init__(self) -> None:
        n = len(self.reading_ids)
        if not all(len(a) == n for a in (self.reading_at, self.temperature_c, self.scores)):
            raise ValueError(f"room {self.room_id}: readings and scores differ in length")

    @property
    def flags(self) -> np.ndarray:
        return self.scores > self.threshold

    @property
    def anomaly_count(self) -> int:
        """Flagged readings."""
        return int(self.flags.sum())

    @property
    def event_count(self) -> int:
        """Runs of consecutive flagged readings, as int_anomaly_scores_grouped numbers them."""
        flags = self.flags
        return int((flags & ~np.concatenate([[False], flags[:-1]])).sum())


@dataclass(frozen=True)
class LandReport:
    room_id: str
    partitions_written: int
    partitions_removed: int
    rows: int
    skipped: bool


def scores_root(ml_zone: Path) -> Path:
    return ml_zone / SCORES_TABLE


def _room_dir(ml_zone: Path, room_id: str) -> Path:
    return scores_root(ml_zone) / f"room_id={room_id}"


def landed_version(ml_zone: Path, room_id: str) -> dict | None:
    path = _room_dir(ml_zone, room_id) / MANIFEST
    return json.loads(path.read_text()) if path.exists() else None


def land_scores(scored: ScoredRoom, ml_zone: Path, landed_at: datetime) -> LandReport:
    """Replace the room's score partitions with ``scored`` (skipped when already landed)."""
    room_dir = _room_dir(ml_zone, scored.room_id)
    identity = {"model_version": scored.model_version, "data": scored.data_fingerprint}
    previous = landed_version(ml_zone, scored.room_id)
    if previous is not None and previous.get("identity") == identity:
        return LandReport(scored.room_id, 0, 0, len(scored.reading_ids), skipped=True)

    # Staged outside the zone; a killed run's leftovers go first (see ingestion.raw_zone).
    staging = staging_root_for(ml_zone)
    clean_staging(staging)
    staging.mkdir(parents=True, exist_ok=True)
    reading_at = np.asarray(scored.reading_at).astype("datetime64[us]")
    dates = reading_at.astype("datetime64[D]")
    trained_at = np.datetime64(scored.trained_at.replace(tzinfo=None), "us")
    landed = np.datetime64(landed_at.replace(tzinfo=None), "us")
    flags = scored.flags
    written: list[str] = []
    for day in np.unique(dates):
        mask = dates == day
        n = int(mask.sum())
        table = pa.Table.from_arrays(
            [
                pa.array(np.asarray(scored.reading_ids)[mask].tolist(), pa.string()),
                pa.array(reading_at[mask]),
                pa.array(np.asarray(scored.temperature_c, dtype=np.float64)[mask]),
                pa.array(np.asarray(scored.scores, dtype=np.float64)[mask]),
                pa.array(np.full(n, scored.threshold)),
                pa.array(flags[mask]),
                pa.array([scored.model_version] * n, pa.string()),
                pa.array(np.full(n, trained_at)),
                pa.array([scored.engine] * n, pa.string()),
                pa.array(np.full(n, landed)),
            ],
            schema=SCHEMA,
        )
        part = f"reading_date={day}"
        final = room_dir / part / "part-0.parquet"
        tmp = staging_file(staging)
        try:
            pq.write_table(table, tmp, compression="zstd")
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp.replace(final)
        finally:
            tmp.unlink(missing_ok=True)
        written.append(part)
    stale = sorted(
        p.name for p in room_dir.glob("reading_date=*") if p.is_dir() and p.name not in written
    )
    for part in stale:
        shutil.rmtree(room_dir / part, ignore_errors=True)
    atomic_write_bytes(
        room_dir / MANIFEST,
        json.dumps(
            {"identity": identity, "partitions": written, "landed_at": landed_at.isoformat()},
            indent=1,
        ).encode(),
        staging_root=staging,
    )
    return LandReport(scored.room_id, len(written), len(stale), len(scored.reading_ids), False)
