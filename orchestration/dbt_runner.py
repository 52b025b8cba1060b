"""Run dbt in-process against this project, with the profile and lake location set up.

dbt reads ``profiles.yml`` from the project folder first; it is made from the committed
``profiles.yml.example`` when missing, so nobody copies files by hand.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ingestion.settings import PROJECT_ROOT, LakePaths


class DbtError(RuntimeError):
    """dbt finished with errors or failed tests."""


@dataclass(frozen=True)
class DbtOutcome:
    command: tuple[str, ...]
    success: bool
    nodes: int


def ensure_profiles(project_dir: Path = PROJECT_ROOT) -> Path:
    profiles = project_dir / "profiles.yml"
    if not profiles.exists():
        shutil.copyfile(project_dir / "profiles.yml.example", profiles)
    return project_dir


def run_dbt(
    args: Sequence[str],
    paths: LakePaths,
    *,
    target: str | None = None,
    check: bool = True,
    quiet: bool = False,
) -> DbtOutcome:
    """Invoke ``dbt <args>`` for ``paths``' lake; raise DbtError when ``check`` and it fails."""
    from dbt.cli.main import dbtRunner  # dbt is heavy to import: only when actually running it

    paths.data_dir.mkdir(parents=True, exist_ok=True)
    os.environ["EVENTLAKE_DATA_DIR"] = str(paths.data_dir)
    project_dir = ensure_profiles()
    full = [
        *args,
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
    ]
    if target:
        full += ["--target", target]
    if quiet:
        full = ["--quiet", *full]
    result = dbtRunner().invoke(full)
    nodes = (
        len(result.result) if result.result is not None and hasattr(result.result, "__len__") else 0
    )
    outcome = DbtOutcome(tuple(args), bool(result.success), nodes)
    if check and not result.success:
        reason = f": {result.exception}" if result.exception else ""
        raise DbtError(f"dbt {' '.join(args)} failed{reason}; see the dbt log above for the node")
    return outcome
