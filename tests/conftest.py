"""Test-session infrastructure shared by every test folder.

- Each pytest process (each xdist worker under ``pytest -n``) gets its own dbt target folder
  (a temporary one) and log folder (``logs/pytest-<worker>/``) through dbt's own variables
  (``DBT_TARGET_PATH``, ``DBT_LOG_PATH``); the project's manifest reader follows the first
  (``orchestration.dbt_runner.dbt_target_dir``). No test writes into the checkout's ``target/``,
  and two workers never race on one manifest or log. Set at configure time, so every dbt and
  ``eventlake`` child the tests start inherits them.
- Scenarios that cost a dbt build are built once per session and shared by the tests that only
  read them (``demo_run``); a test that changes a lake builds or copies its own.
- Under ``pytest -n N --dist loadgroup`` (``make test``) every test module is one unit of work,
  so its module-scoped lake is built once; modules sharing a session scenario, and the modules
  needing PostgreSQL (one throwaway server), form one unit; the engine compiles form one unit
  per engine. The units that run dbt, a browser or PostgreSQL, or compile, are handed out
  first, so the slow ones do not end up last.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

_OWN_FOLDERS: list[Path] = []
# Session fixtures that build a lake: every module using one runs in the same process.
SHARED_SCENARIOS = ("demo_run",)
# The Athena/Redshift compiles (tests/engines/conftest.py): one unit of work per engine, so the
# two engines compile side by side; the tests without an engine parameter are Redshift's.
ENGINE_FIXTURES = {"compiled_statements", "compiled_project", "operation_statements"}
HEAVY_MARKERS = ("dbt", "browser", "postgres")
# The manifest `make dbt-checks` has just parsed, when pytest runs right after it (Makefile).
PARSED_ENV = "EVENTLAKE_TEST_PARSED_MANIFEST"


def pytest_configure(config: pytest.Config) -> None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    root = Path(tempfile.mkdtemp(prefix=f"eventlake-tests-{worker}-"))
    _OWN_FOLDERS.append(root)
    os.environ["DBT_TARGET_PATH"] = str(root / "target")
    # Kept after the session (git-ignored), for the dbt.log a failing build points at.
    logs = Path(__file__).resolve().parents[1] / "logs" / f"pytest-{worker}"
    os.environ["DBT_LOG_PATH"] = str(logs)


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in _OWN_FOLDERS:
        shutil.rmtree(folder, ignore_errors=True)


def _module_unit(module: list[pytest.Item]) -> str | None:
    for scenario in SHARED_SCENARIOS:
        if any(scenario in item.fixturenames for item in module):
            return scenario
    if any(item.get_closest_marker("postgres") for item in module):
        return "postgres"  # one PostgreSQL server (or throwaway) for all of them
    return None


def _item_unit(item: pytest.Item) -> str:
    if ENGINE_FIXTURES & set(item.fixturenames):
        params = getattr(item, "callspec", None)
        engine = params and (params.params.get("engine") or params.params.get("target"))
        return f"engine-{engine or 'redshift'}"
    return item.nodeid.split("::", 1)[0]  # its module: module fixtures are set up once


def _heavy(item: pytest.Item) -> bool:
    return any(item.get_closest_marker(m) for m in HEAVY_MARKERS) or bool(
        ENGINE_FIXTURES & set(item.fixturenames)
    )


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    units: dict[str, list[pytest.Item]] = {}
    for module in modules.values():
        shared = _module_unit(module)
        for item in module:
            units.setdefault(shared or _item_unit(item), []).append(item)
    for name, unit in units.items():
        for item in unit:
            item.add_marker(pytest.mark.xdist_group(name))
    # Units stay together (their fixtures are set up once), the slow ones first.
    ordered = sorted(units.values(), key=lambda unit: not any(_heavy(i) for i in unit))
    items[:] = [item for unit in ordered for item in unit]


@pytest.fixture(scope="session")
def dbt_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project parsed once per session (or by `make dbt-checks` just before): the tests that
    check the manifest read the copy returned, and the tests that make the CLI read relations
    without building anything first find it in this session's target folder."""
    from orchestration.dbt_runner import dbt_executable, dbt_target_dir, ensure_profiles

    kept = tmp_path_factory.mktemp("parsed") / "manifest.json"
    parsed = os.environ.get(PARSED_ENV)
    if parsed and Path(parsed).is_file():  # make test and test-fast: `make dbt-checks` parsed it
        shutil.copyfile(parsed, kept)
        dbt_target_dir().mkdir(parents=True, exist_ok=True)
        shutil.copyfile(parsed, dbt_target_dir() / "manifest.json")
        return kept
    project = str(ensure_profiles())
    done = subprocess.run(
        [dbt_executable(), "--quiet", "parse", "--project-dir", project, "--profiles-dir", project],
        cwd=project,
        env={**os.environ, "EVENTLAKE_DATA_DIR": str(tmp_path_factory.mktemp("parse-lake"))},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    # A copy: later dbt commands of this session rewrite the target's manifest.
    shutil.copyfile(dbt_target_dir() / "manifest.json", kept)
    return kept


@dataclass(frozen=True)
class DemoRun:
    data_dir: Path
    printed: str  # what the first `eventlake demo` printed


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """`eventlake demo` run once on a small lake (lakehelpers.DEMO_ARGS), as a user runs it.

    The browser tests read its pages; test_demo.py then runs it again and forces a run on it
    (changing no mart, which is what it asserts)."""
    from lakehelpers import DEMO_ARGS, eventlake_cli

    data_dir = tmp_path_factory.mktemp("demo-lake")
    return DemoRun(data_dir, eventlake_cli(data_dir, *DEMO_ARGS))
