"""One offline compile per (engine, mode) for every test of tests/engines (dbt compile is the
slow part): the compile-marker tests and the cloud SQL gate read the same target folders.

`make test` runs `make sqllint` first, which makes exactly these compiles (tests/engines/
cloud_sql.py writes them under target/cloud-sql) and then names that folder in
$EVENTLAKE_TEST_CLOUD_SQL for pytest: the tests read those targets instead of compiling again.
Without the variable (pytest run by hand, make test-fast) each compile is made here once per
run: under xdist the first worker to need it compiles while the others wait for it (a file lock
in the folder all workers share), as the two test modules here may run in different workers."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cloud_sql import (
    Statement,
    compile_project,
    read_compiled,
    read_operations,
    render_operations,
    rendered_target,
)

from orchestration.dbt_runner import ensure_profiles

REUSE_ENV = "EVENTLAKE_TEST_CLOUD_SQL"


def _made_by_sqllint(engine: str, mode: str) -> Path | None:
    out = os.environ.get(REUSE_ENV)
    folder = rendered_target(Path(out), engine, mode) if out else None
    return folder if folder and folder.is_dir() else None


@contextmanager
def _made_once(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[tuple[Path, bool]]:
    """(folder, whether it is still to be made), holding a lock every xdist worker of this run
    shares; the folder counts as made once the body returns."""
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "engine-compiles"
    shared.mkdir(parents=True, exist_ok=True)
    done = shared / f"{name}.done"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield shared / name, not done.exists()
        done.touch()


@pytest.fixture(scope="session")
def compiled_statements(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str, str], tuple[Path, list[Statement]]]:
    """(target path, statements) of `dbt compile --target <engine>` in offline `mode`."""
    done: dict[tuple[str, str], tuple[Path, list[Statement]]] = {}

    def compile_once(engine: str, mode: str) -> tuple[Path, list[Statement]]:
        if (engine, mode) not in done:
            if made := _made_by_sqllint(engine, mode):
                done[engine, mode] = (made, read_compiled(made))
            else:
                with _made_once(tmp_path_factory, f"{engine}-{mode}") as (target, to_make):
                    if to_make:
                        compile_project(ensure_profiles(), engine, mode, target)
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
            if made := _made_by_sqllint(engine, "operations"):
                done[engine] = read_operations(made)
            else:
                with _made_once(tmp_path_factory, f"{engine}-operations") as (target, to_make):
                    if to_make:
                        render_operations(ensure_profiles(), engine, target)
                    done[engine] = read_operations(target)
        return done[engine]

    return render_once
