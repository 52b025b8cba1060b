"""Test-session infrastructure shared by every test folder.

- Each pytest process (each xdist worker under ``pytest -n``) gets its own dbt target folder
  (a temporary one) and log folder (``logs/pytest-<worker>/``) through dbt's own variables
  (``DBT_TARGET_PATH``, ``DBT_LOG_PATH``); the project's manifest reader follows the first
  (``orchestration.dbt_runner.dbt_target_dir``). No test writes into the checkout's ``target/``,
  and two workers never race on one manifest or log. Set at configure time, so every dbt and
  ``eventlake`` child the tests start inherits them.
- Scenarios that cost a dbt build are built once per session and shared by the tests that only
  read them (``demo_run``); a test that changes a lake builds or copies its own.
- Under ``pytest -n N --dist loadfile`` (``make test``) every test module is one unit of work,
  so its module-scoped lake is built once (session fixtures are built once per worker). The
  modules that run dbt, a browser or PostgreSQL, or compile, are handed out first, so the slow
  ones do not end up last. (xdist's ``loadgroup`` would keep the modules sharing a session
  lake in one worker, but xdist 3.8 cannot rename the test ids of pytest 9.2, so its groups
  are silently ignored.)
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
# The Athena/Redshift compiles (tests/engines/conftest.py): slow like a dbt build.
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


def _heavy(item: pytest.Item) -> bool:
    return any(item.get_closest_marker(m) for m in HEAVY_MARKERS) or bool(
        ENGINE_FIXTURES & set(item.fixturenames)
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Whole modules, in their order, the slow ones first: xdist (--dist loadfile) hands them
    out in this order, so a slow module does not start last."""
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    ordered = sorted(modules.values(), key=lambda module: not any(_heavy(i) for i in module))
    items[:] = [item for module in ordered for item in module]


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
