"""One offline compile per (engine, mode) for every test of tests/engines (dbt compile is the
slow part): the compile-marker tests and the cloud SQL gate read the same target folders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cloud_sql import Statement, compile_project, render_operations

from orchestration.dbt_runner import ensure_profiles


@pytest.fixture(scope="session")
def compiled_statements(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str, str], tuple[Path, list[Statement]]]:
    """(target path, statements) of `dbt compile --target <engine>` in offline `mode`."""
    done: dict[tuple[str, str], tuple[Path, list[Statement]]] = {}

    def compile_once(engine: str, mode: str) -> tuple[Path, list[Statement]]:
        if (engine, mode) not in done:
            target = tmp_path_factory.mktemp(f"{engine}-{mode}")
            done[engine, mode] = (target, compile_project(ensure_profiles(), engine, mode, target))
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
            target = tmp_path_factory.mktemp(f"{engine}-operations")
            done[engine] = render_operations(ensure_profiles(), engine, target)
        return done[engine]

    return render_once
