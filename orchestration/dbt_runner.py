"""Run dbt in-process against this project, with the profile and lake location set up.

dbt reads ``profiles.yml`` from the project folder first; it is made from the committed
``profiles.yml.example`` when missing, so nobody copies files by hand.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


def ensure_profiles(project_dir: Path = PROJECT_ROOT) -> Path:
    profiles = project_dir / "profiles.yml"
    if not profiles.exists():
        shutil.copyfile(project_dir / "profiles.yml.example", profiles)
    return project_dir


def dbt_executable() -> str:
    """The dbt installed beside this Python (the project's environment), else the one on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    found = str(beside) if beside.exists() else shutil.which("dbt")
    if not found:
        raise DbtError("dbt is not installed in this environment; run `make setup` first")
    return found


def run_dbt(
    args: Sequence[str],
    paths: LakePaths,
    *,
    target: str | None = None,
    check: bool = True,
    quiet: bool = False,
    extra_env: dict[str, str] | None = None,
) -> DbtOutcome:
    """Run ``dbt <args>`` on ``paths``' lake; raise DbtError when ``check`` and it fails.

    dbt runs in its own process: dbt-duckdb keeps its database connection open for the life of
    the process, which would lock the warehouse file against the steps that follow.
    """
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    project_dir = ensure_profiles()
    command = [dbt_executable(), *(["--quiet"] if quiet else []), *args]
    command += ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    if target:
        command += ["--target", target]
    env = {**os.environ, "EVENTLAKE_DATA_DIR": str(paths.data_dir), **(extra_env or {})}
    completed = subprocess.run(command, cwd=project_dir, env=env, check=False)
    outcome = DbtOutcome(tuple(args), completed.returncode == 0)
    if check and not outcome.success:
        raise DbtError(
            f"dbt {' '.join(args)} failed (exit {completed.returncode}); the failing node is in"
            " the dbt output above and in logs/dbt.log"
        )
    return outcome
