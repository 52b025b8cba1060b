"""Configuration of the Random Cut Forest steps: one dataclass, seed defaults, env overrides.

Every setting can come from an environment variable (``EVENTLAKE_RCF_*`` for the model,
``EVENTLAKE_SAGEMAKER_*`` for AWS), so the Step Functions tasks that call ``eventlake ml ...``
are configured the same way as a laptop run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta

ENGINES = ("local", "sagemaker")
RETRAIN_AFTER_ENV = "EVENTLAKE_RCF_RETRAIN_AFTER_HOURS"
DEFAULT_RETRAIN_AFTER_HOURS = 168.0  # a week: the seed retrains per room on a schedule
# A shingle never spans a gap longer than this many of the room's cadence intervals (unless
# max_gap_seconds is set): 15 x 60 s is the 900 s the defaults were tuned on for minute sensors,
# and the same factor gives an hourly room 15 h, so a few missed readings do not split windows.
MAX_GAP_CADENCE_FACTOR = 15


def retrain_after_from_env(environ: Mapping[str, str] | None = None) -> timedelta:
    """How old a room's model may get before the scheduled run trains it again."""
    environ = os.environ if environ is None else environ
    raw = _env(environ, RETRAIN_AFTER_ENV)
    try:
        hours = DEFAULT_RETRAIN_AFTER_HOURS if raw is None else float(raw)
    except ValueError:
        raise ValueError(f"{RETRAIN_AFTER_ENV}={raw!r} is not a number of hours") from None
    if not hours > 0:
        raise ValueError(f"{RETRAIN_AFTER_ENV} must be positive, got {raw!r}")
    return timedelta(hours=hours)


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    return value if value not in (None, "") else None


@dataclass(frozen=True)
class RcfConfig:
    """The model and how its scores become flags. Defaults are the seed's (SageMaker's) values.

    ``shingle_size`` k makes each feature vector the room's last k readings (``feature_dim = k``);
    a window never spans a gap longer than ``max_gap_seconds``; left unset, each room's gap is
    ``MAX_GAP_CADENCE_FACTOR`` times its cadence (``ml.features.room_config``). The threshold is
    ``mean + threshold_sigmas * std`` of the training scores (SageMaker's guidance), or the
    ``threshold_quantile`` of them when that is set.
    """

    num_trees: int = 50
    num_samples_per_tree: int = 512
    shingle_size: int = 4  # tuned on simulated labels (benchmarks/eval_rcf_quality.py)
    max_gap_seconds: int | None = None  # None: MAX_GAP_CADENCE_FACTOR x the room's cadence
    threshold_sigmas: float = 3.0
    threshold_quantile: float | None = None
    seed: int = 42

    def __post_init__(self) -> None:
        for name in ("num_trees", "num_samples_per_tree", "shingle_size", "max_gap_seconds"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.num_samples_per_tree > 2048:
            raise ValueError("num_samples_per_tree must be at most 2048 (SageMaker RCF's limit)")
        if self.num_trees > 1000:
            raise ValueError("num_trees must be at most 1000 (SageMaker RCF's limit)")
        if self.threshold_sigmas <= 0:
            raise ValueError(f"threshold_sigmas must be positive, got {self.threshold_sigmas}")
        if self.threshold_quantile is not None and not 0.5 <= self.threshold_quantile < 1.0:
            raise ValueError(
                f"threshold_quantile must be in [0.5, 1), got {self.threshold_quantile}"
            )

    @property
    def feature_dim(self) -> int:
        return self.shingle_size

    def hyperparameters(self) -> dict[str, str]:
        """SageMaker's built-in RCF hyperparameters (all strings, as the API wants them)."""
        return {
            "feature_dim": str(self.feature_dim),
            "num_samples_per_tree": str(self.num_samples_per_tree),
            "num_trees": str(self.num_trees),
        }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> RcfConfig:
        """Defaults, then ``EVENTLAKE_RCF_<FIELD>`` variables, then explicit ``overrides``."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = _env(environ, f"EVENTLAKE_RCF_{f.name.upper()}")
            if raw is None:
                continue
            kind = float if f.name.startswith("threshold") else int
            try:
                values[f.name] = kind(raw)
            except ValueError as exc:
                raise ValueError(
                    f"EVENTLAKE_RCF_{f.name.upper()}={raw!r} is not a {kind.__name__}"
                ) from exc
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> RcfConfig:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class SageMakerConfig:
    """Where the SageMaker path reads and writes, and what it runs on (the seed's instances)."""

    role_arn: str
    s3_prefix: str  # s3://bucket/prefix: exports under <prefix>/export, jobs under <prefix>/jobs
    region: str
    training_instance_type: str = "ml.m4.xlarge"
    transform_instance_type: str = "ml.c5.xlarge"
    instance_count: int = 1
    volume_size_gb: int = 10
    max_runtime_seconds: int = 3_600
    image_uri: str | None = None  # default: the region's built-in randomcutforest:1 image
    tags: dict[str, str] = field(default_factory=lambda: {"project": "eventlake"})

    def __post_init__(self) -> None:
        if not self.s3_prefix.startswith("s3://") or len(self.s3_prefix.rstrip("/")) <= 5:
            raise ValueError(f"s3_prefix must be s3://bucket[/prefix], got {self.s3_prefix!r}")
        if not self.role_arn.startswith("arn:"):
            raise ValueError(
                f"role_arn must be an IAM role ARN SageMaker can assume, got {self.role_arn!r}"
            )

    @property
    def bucket(self) -> str:
        return self.s3_prefix[5:].split("/", 1)[0]

    @property
    def key_prefix(self) -> str:
        rest = self.s3_prefix[5:].split("/", 1)
        return rest[1].strip("/") if len(rest) > 1 else ""

    def uri(self, *parts: str) -> str:
        return "/".join([self.s3_prefix.rstrip("/"), *(p.strip("/") for p in parts)])

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SageMakerConfig:
        environ = os.environ if environ is None else environ
        missing = [
            name
            for name in ("EVENTLAKE_SAGEMAKER_ROLE_ARN", "EVENTLAKE_SAGEMAKER_S3_PREFIX")
            if _env(environ, name) is None
        ]
        region = _env(environ, "EVENTLAKE_SAGEMAKER_REGION") or _env(environ, "AWS_REGION")
        if region is None:
            missing.append("EVENTLAKE_SAGEMAKER_REGION (or AWS_REGION)")
        if missing:
            raise ValueError(f"--engine sagemaker needs {', '.join(missing)} set")
        optional: dict[str, object] = {}
        for name, kind in (
            ("training_instance_type", str),
            ("transform_instance_type", str),
            ("instance_count", int),
            ("volume_size_gb", int),
            ("max_runtime_seconds", int),
            ("image_uri", str),
        ):
            raw = _env(environ, f"EVENTLAKE_SAGEMAKER_{name.upper()}")
            if raw is not None:
                optional[name] = kind(raw)
        return cls(
            role_arn=environ["EVENTLAKE_SAGEMAKER_ROLE_ARN"],
            s3_prefix=environ["EVENTLAKE_SAGEMAKER_S3_PREFIX"],
            region=region,
            **optional,  # type: ignore[arg-type]
        )
