"""The ML steps the orchestrator calls: export, train, score (local or SageMaker), per room.

Each step is idempotent. A model's version is a hash of the engine, the configuration and the
exact training data, so training again on the same data finds the model it already has (and
keeps its ``trained_at``), and scoring the same data with the same model again is skipped.
Models are recorded under ``lake/ml/models/room_id=<r>/model.json``.

Each step fails one room at a time: a room that cannot be exported, trained or scored gets a
report with ``failed=True`` and a detail that says why and what to do, and the other rooms go on.
The caller decides what a failed room means (the CLI exits non-zero at the end).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ingestion.raw_zone import atomic_write_bytes, staging_root_for
from ingestion.settings import LakePaths
from ml.config import ENGINES, RcfConfig, SageMakerConfig
from ml.features import RoomDataset, RoomSeries, build_dataset, read_room_series, room_config
from ml.local_rcf import (
    load_forest,
    save_forest,
    score_points,
    threshold_from_scores,
    train_forest,
)
from ml.results import LandReport, ScoredRoom, land_scores, landed_version
from ml.sagemaker import SageMakerRcf
from orchestration.pipeline import ANOMALY_MARTS_SELECTOR

# `eventlake ml rebuild-marts`: the anomaly marts and the stuck-sensor rule that feeds them. The
# pipeline builds the rule (it reads only the series) in its first dbt step, so a change of the
# rule's vars reaches the marts only through this selector or a full build.
REBUILD_MARTS_SELECTOR = f"{ANOMALY_MARTS_SELECTOR} int_temperature_stuck_readings+"


@dataclass(frozen=True)
class ModelRecord:
    room_id: str
    engine: str
    model_version: str
    trained_at: str  # ISO 8601, UTC
    threshold: float
    training_points: int
    data_fingerprint: str
    config: dict[str, Any]
    artifact: str  # local forest file name, or the SageMaker model's S3 artifact
    training_job: str | None = None

    @property
    def rcf_config(self) -> RcfConfig:
        return RcfConfig(**self.config)

    @property
    def trained_at_utc(self) -> datetime:
        return datetime.fromisoformat(self.trained_at).astimezone(UTC)


@dataclass(frozen=True)
class StepReport:
    room_id: str
    detail: str
    skipped: bool = False
    failed: bool = False


@dataclass(frozen=True)
class ScoreReport:
    """One room's scoring: what landed, or why the room failed."""

    room_id: str
    landed: LandReport | None = None
    flagged_readings: int = 0  # readings above the threshold
    anomaly_events: int = 0  # runs of consecutive flagged readings
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def detail(self) -> str:
        """Why the room failed (empty when it did not), as ``StepReport.detail`` says it."""
        return self.error or ""


# Failures that belong to one room's data or model (bad input, a missing file, a failed job):
# reported for that room. Anything else is a bug and stops the step.
ROOM_ERRORS = (ValueError, OSError, RuntimeError)


def failed_rooms(reports: list[StepReport] | list[ScoreReport]) -> list[str]:
    return [r.room_id for r in reports if r.failed]


def model_version(engine: str, config: RcfConfig, data_fingerprint: str) -> str:
    identity = json.dumps([engine, asdict(config), data_fingerprint], sort_keys=True)
    return hashlib.sha256(identity.encode()).hexdigest()[:12]


def models_dir(paths: LakePaths, room_id: str) -> Path:
    return paths.ml / "models" / f"room_id={room_id}"


def load_model(paths: LakePaths, room_id: str) -> ModelRecord | None:
    path = models_dir(paths, room_id) / "model.json"
    return ModelRecord(**json.loads(path.read_text())) if path.exists() else None


def _save_model(paths: LakePaths, record: ModelRecord) -> None:
    atomic_write_bytes(
        models_dir(paths, record.room_id) / "model.json",
        json.dumps(asdict(record), indent=1, sort_keys=True).encode(),
        staging_root=staging_root_for(paths.ml),
    )


def _check_engine(engine: str, sagemaker: SageMakerRcf | None) -> None:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "sagemaker" and sagemaker is None:
        raise ValueError("engine sagemaker needs a SageMakerRcf (see sagemaker_runner)")


def sagemaker_runner(config: RcfConfig, sm: SageMakerConfig | None = None) -> SageMakerRcf:
    """A runner with boto3 clients for the configured region (credentials from the usual chain)."""
    import boto3

    sm = sm or SageMakerConfig.from_env()
    session = boto3.session.Session(region_name=sm.region)
    return SageMakerRcf(sm, config, session.client("sagemaker"), session.client("s3"))


def export(paths: LakePaths, config: RcfConfig, rooms: list[str] | None = None) -> list[StepReport]:
    """Each room's CSV (SageMaker's input) and the readings its lines score, in the ML zone."""
    reports = []
    for series in read_room_series(paths.duckdb_file, rooms):
        try:
            dataset = build_dataset(series, config)
            folder = paths.ml / "export" / f"room_id={series.room_id}"
            for name, body in (
                ("features.csv", dataset.features_csv()),
                ("rows.csv", dataset.rows_csv()),
            ):
                atomic_write_bytes(folder / name, body, staging_root=staging_root_for(paths.ml))
        except ROOM_ERRORS as exc:
            reports.append(StepReport(series.room_id, str(exc), failed=True))
            continue
        reports.append(
            StepReport(
                series.room_id,
                f"{len(dataset.rows):,} points x {dataset.feature_dim} -> {folder}",
            )
        )
    return reports


def _training_data(series: RoomSeries, config: RcfConfig) -> tuple[RcfConfig, RoomDataset]:
    """The room's resolved configuration and windows; a clear error when there are none."""
    config = room_config(series, config)
    dataset = build_dataset(series, config)
    if len(dataset.rows) == 0:
        cadence = series.cadence_seconds
        raise ValueError(
            f"no training points: {len(series):,} readings but no {config.shingle_size} in a row"
            f" without a gap over {config.max_gap_seconds} s (cadence"
            f" {'unknown' if cadence is None else f'{cadence:g} s'}); raise --max-gap-seconds"
            " or lower --shingle-size"
        )
    return config, dataset


def train(
    paths: LakePaths,
    config: RcfConfig,
    engine: str = "local",
    rooms: list[str] | None = None,
    sagemaker: SageMakerRcf | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    retrain_after: timedelta | None = None,
) -> list[StepReport]:
    """Train every room's forest and set its threshold from the training scores.

    With ``retrain_after`` (the scheduled run), a room's model is trained only when due: it has
    none, its engine or configuration changed, or it is older than ``retrain_after``; otherwise
    the model keeps scoring new readings. Without it, a model follows every change of the data.
    """
    _check_engine(engine, sagemaker)
    reports = []
    for series in read_room_series(paths.duckdb_file, rooms):
        try:
            reports.append(
                _train_room(paths, series, config, engine, sagemaker, now, retrain_after)
            )
        except ROOM_ERRORS as exc:
            reports.append(StepReport(series.room_id, str(exc), failed=True))
    return reports


def _train_room(
    paths: LakePaths,
    series: RoomSeries,
    config: RcfConfig,
    engine: str,
    sagemaker: SageMakerRcf | None,
    now: Callable[[], datetime],
    retrain_after: timedelta | None,
) -> StepReport:
    config, dataset = _training_data(series, config)
    fingerprint = dataset.fingerprint()
    version = model_version(engine, config, fingerprint)
    existing = load_model(paths, series.room_id)
    if existing is not None and existing.model_version == version:
        return StepReport(series.room_id, f"model {version} is current", True)
    if retrain_after is not None and not _due(existing, engine, config, now(), retrain_after):
        assert existing is not None
        return StepReport(
            series.room_id,
            f"model {existing.model_version} is not due (trained {existing.trained_at})",
            True,
        )
    if engine == "local":
        forest = train_forest(dataset.features, config)
        training_scores = score_points(forest, dataset.features)
        artifact = f"forest-{version}.msgpack"
        atomic_write_bytes(
            models_dir(paths, series.room_id) / artifact,
            save_forest(forest),
            staging_root=staging_root_for(paths.ml),
        )
        trained_at, job = now(), None
    else:
        assert sagemaker is not None
        csv = dataset.features_csv()
        trained = sagemaker.train(series.room_id, version, fingerprint, csv)
        training_scores = sagemaker.score(
            series.room_id, version, fingerprint, csv, len(dataset.rows)
        )
        artifact, job = trained["model_data_url"], trained["training_job"]
        trained_at = trained["trained_at"]
    record = ModelRecord(
        room_id=series.room_id,
        engine=engine,
        model_version=version,
        trained_at=trained_at.astimezone(UTC).isoformat(),
        threshold=threshold_from_scores(training_scores, config),
        training_points=len(dataset.rows),
        data_fingerprint=fingerprint,
        config=asdict(config),
        artifact=artifact,
        training_job=job,
    )
    _save_model(paths, record)
    return StepReport(
        series.room_id,
        f"model {version}: {record.training_points:,} points, threshold {record.threshold:.3f}"
        f" (max gap {config.max_gap_seconds} s)",
    )


def _due(
    existing: ModelRecord | None,
    engine: str,
    config: RcfConfig,
    at: datetime,
    retrain_after: timedelta,
) -> bool:
    """A room needs training: no model, a new engine or configuration, or the model is old."""
    if existing is None or existing.engine != engine or existing.config != asdict(config):
        return True
    return at - existing.trained_at_utc >= retrain_after


def score_dataset(
    record: ModelRecord, dataset: RoomDataset, paths: LakePaths, sagemaker: SageMakerRcf | None
) -> ScoredRoom:
    if record.engine == "local":
        forest = load_forest((models_dir(paths, record.room_id) / record.artifact).read_bytes())
        scores = score_points(forest, dataset.features)
    else:
        if sagemaker is None:
            raise ValueError(
                f"room {record.room_id}'s model is a SageMaker model: --engine sagemaker"
            )
        scores = sagemaker.score(
            record.room_id,
            record.model_version,
            dataset.fingerprint(),
            dataset.features_csv(),
            len(dataset.rows),
        )
    series = dataset.series
    return ScoredRoom(
        room_id=record.room_id,
        reading_ids=series.reading_ids[dataset.rows],
        reading_at=series.reading_at[dataset.rows],
        temperature_c=series.temperature_c[dataset.rows],
        scores=scores,
        threshold=record.threshold,
        model_version=record.model_version,
        trained_at=record.trained_at_utc,
        engine=record.engine,
        data_fingerprint=dataset.fingerprint(),
    )


def score(
    paths: LakePaths,
    engine: str = "local",
    rooms: list[str] | None = None,
    sagemaker: SageMakerRcf | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[ScoreReport]:
    """Score every room with its recorded model and land the scores; one report per room."""
    _check_engine(engine, sagemaker)
    reports = []
    for series in read_room_series(paths.duckdb_file, rooms):
        try:
            reports.append(_score_room(paths, series, engine, sagemaker, now))
        except ROOM_ERRORS as exc:
            reports.append(ScoreReport(series.room_id, error=str(exc)))
    return reports


def _score_room(
    paths: LakePaths,
    series: RoomSeries,
    engine: str,
    sagemaker: SageMakerRcf | None,
    now: Callable[[], datetime],
) -> ScoreReport:
    record = load_model(paths, series.room_id)
    if record is None:
        raise FileNotFoundError("no model; run `eventlake ml train` for this room first")
    if record.engine != engine:
        raise ValueError(
            f"its model was trained by {record.engine}, not {engine}; "
            f"train it with --engine {engine} first"
        )
    dataset = build_dataset(series, record.rcf_config)
    landed = landed_version(paths.ml, series.room_id)
    identity = {"model_version": record.model_version, "data": dataset.fingerprint()}
    if landed is not None and landed.get("identity") == identity:
        return ScoreReport(
            series.room_id, LandReport(series.room_id, 0, 0, len(dataset.rows), True)
        )
    scored = score_dataset(record, dataset, paths, sagemaker)
    return ScoreReport(
        series.room_id,
        land_scores(scored, paths.ml, now()),
        flagged_readings=scored.anomaly_count,
        anomaly_events=scored.event_count,
    )
