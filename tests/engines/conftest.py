"""One offline compile per (engine, mode) for every test of tests/engines (dbt compile is the
slow part): the compile-marker tests and the cloud SQL gate read the same target folders.

`make test` runs `make sqllint` first, which makes exactly these compiles (tests/engines/
cloud_sql.py writes them under target/cloud-sql) and then names that folder in
$EVENTLAKE_TEST_CLOUD_SQL for pytest: the tests read those targets instead of compiling again.
Without the variable (pytest run by hand, make test-fast) they are made here once per run (one
dbt parse per engine, both engines side by side, cloud_sql.make_engine_targets): under xdist the
first worker to need them compiles while the others wait (a file lock in the folder all workers
share), as the two test modules here may run in different workers."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from cloud_sql import (
    Statement,
    make_engine_targets,
    read_compiled,
    read_operations,
    rendered_target,
)

from orchestration.dbt_runner import ensure_profiles

REUSE_ENV = "EVENTLAKE_TEST_CLOUD_SQL"


def _made_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding every engine's rendered targets for this run, made by the first xdist
    worker to need one (both engines side by side) while the others wait (a lock in the folder
    all workers share)."""
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "engine-compiles"
    shared.mkdir(parents=True, exist_ok=True)
    done = shared / "made"
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            make_engine_targets(ensure_profiles(), shared)
            done.touch()
    return shared


def _target(tmp_path_factory: pytest.TempPathFactory, engine: str, mode: str) -> Path:
    """The rendered target of (engine, mode): `make sqllint`'s, else made once for this run."""
    out = os.environ.get(REUSE_ENV)
    made = rendered_target(Path(out), engine, mode) if out else None
    if made and made.is_dir():
        return made
    return rendered_target(_made_once(tmp_path_factory), engine, mode)


@pytest.fixture(scope="session")
def compiled_statements(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str, str], tuple[Path, list[Statement]]]:
    """(target path, statements) of `dbt compile --target <engine>` in offline `mode`."""
    done: dict[tuple[str, str], tuple[Path, list[Statement]]] = {}

    def compile_once(engine: str, mode: str) -> tuple[Path, list[Statement]]:
        if (engine, mode) not in done:
            target = _target(tmp_path_factory, engine, mode)
            done[engine, mode] = (target, read_compiled(target))
        return done[engine, mode]

    return compile_once


@pytest.fixture(scope="session")
def compiled_project(compiled_statements) -> Callable[[str, str], Path]:
    """The target path of the offline compile of (engine, mode)."""
    return lambda engine, mode: compiled_statements(engine, mode)[0]


@pytest.fixture(scope="session")
def operation_statements(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str], list[Statement]]:
    """The run-operations' and freshness statements of an engine, rendered once."""
    done: dict[str, list[Statement]] = {}

    def render_once(engine: str) -> list[Statement]:
        if engine not in done:
            done[engine] = read_operations(_target(tmp_path_factory, engine, "operations"))
        return done[engine]

    return render_once
