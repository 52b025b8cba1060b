"""The run record: one per attempt of `eventlake run`, appended to the lake for dbt to read.

Each attempt writes one NDJSON file, ``lake/orchestration/pipeline_runs/<attempt_id>.json``,
atomically (staged, then renamed), so appending never rewrites earlier records and a crash never
leaves half a record. dbt reads the folder as the source ``orchestration.pipeline_runs``
(``macros/orchestration/run_tables.sql``), whose freshness on ``landed_at`` shows a stalled
schedule in ``dbt source freshness`` and on the data-quality dashboard.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ingestion.raw_zone import STAGING_DIR, atomic_write_bytes
from ingestion.settings import LakePaths

RUN_TABLE = "pipeline_runs"
OUTCOMES = ("succeeded", "skipped", "failed", "interrupted")


@dataclass(frozen=True)
class StepRecord:
    name: str
    status: str  # ran, skipped (no new data), done (by an earlier attempt), failed
    seconds: float
    detail: str
    rows: int | None = None  # rows or lines the step wrote, where that is meaningful


@dataclass
class RunRecord:
    attempt_id: str  # <run_id>-<attempt>: one record per attempt
    run_id: str
    attempt: int
    started_at: datetime  # UTC, naive in the file (the lake's convention)
    finished_at: datetime
    outcome: str
    forced: bool
    resumed_at_step: str | None
    failed_step: str | None
    error: str | None
    new_raw_objects: int
    steps: list[StepRecord] = field(default_factory=list)

    @property
    def duration_seconds(self) -> float:
        return round((self.finished_at - self.started_at).total_seconds(), 3)

    def to_json(self, landed_at: datetime) -> bytes:
        body = asdict(self)
        # When the record landed in the lake: every source's freshness column (landed_at).
        body["landed_at"] = landed_at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        for key in ("started_at", "finished_at"):
            body[key] = getattr(self, key).replace(tzinfo=None).isoformat(sep=" ")
        body["duration_seconds"] = self.duration_seconds
        body["steps_run"] = sum(s.status == "ran" for s in self.steps)
        body["steps_skipped"] = sum(s.status == "skipped" for s in self.steps)
        # One text column in the table: engines read a JSON string the same way everywhere.
        body["steps"] = json.dumps([asdict(s) for s in self.steps], separators=(",", ":"))
        return json.dumps(body, separators=(",", ":")).encode() + b"\n"


def records_dir(paths: LakePaths) -> Path:
    return paths.lake / "orchestration" / RUN_TABLE


def append_record(paths: LakePaths, record: RunRecord) -> Path:
    if record.outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {record.outcome!r}")
    path = records_dir(paths) / f"{record.attempt_id}.json"
    body = record.to_json(datetime.now(UTC))
    atomic_write_bytes(path, body, staging_root=paths.lake / STAGING_DIR)
    return path


def read_records(paths: LakePaths) -> list[dict]:
    """Every record in the lake, oldest first (for tests and the CLI; dbt reads the files)."""
    folder = records_dir(paths)
    found = [json.loads(p.read_text()) for p in folder.glob("*.json")] if folder.exists() else []
    return sorted(found, key=lambda r: (r["started_at"], r["attempt"]))
