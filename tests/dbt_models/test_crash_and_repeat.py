"""Builds are bit-for-bit repeatable, and kill -9 during build or publish then a re-run equals
an uninterrupted run (issue 11, items 6 and 8).

Every trial runs in the same folder (``work``), copied afresh from one landed lake: line ids
hash the object's path, so two lakes in two folders could never be compared byte for byte.
Marts are compared on every column but dbt's bookkeeping (which invocation built a row, when
it was staged); floats are compared exactly (``repr`` of a double is its exact value). Kills
happen at deterministic points (``EVENTLAKE_CRASH_AT``) or, for dbt, once its log shows a given
number of models built; the assertions hold wherever in between the kill lands.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from lakehelpers import BOOKKEEPING, dbt, run_eventlake

from ingestion.crash_points import CRASH_ENV
from ingestion.settings import PROJECT_ROOT, lake_paths

pytestmark = pytest.mark.dbt

MART_SCHEMAS = ("main_marts", "main_quarantine")
DEADLINE_SECONDS = 300.0
LANDINGS = (
    ("simulate", "--start", "2026-03-01", "--end", "2026-03-01T06:00", "--rooms", "3"),
    ("--malformed-fraction", "0.02", "--duplicate-fraction", "0.02"),
    ("simulate-traffic", "--start", "2026-03-01", "--end", "2026-03-01T01:00"),
    ("--locations", "6", "--malformed-fraction", "0.02", "--late-fraction", "0.1"),
    ("simulate-seismic", "--start", "2026-03-01", "--days", "2", "--events-per-day", "60"),
    ("--invalid-fraction", "0.05"),
)


def _marts(data_dir: Path) -> dict[str, bytes]:
    """Every mart and quarantine table as canonical bytes: business columns, rows sorted."""
    found = {}
    with duckdb.connect(str(data_dir / "eventlake.duckdb"), read_only=True) as con:
        relations = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
            f" where table_schema in {MART_SCHEMAS} order by 1"
        ).fetchall()
        for (relation,) in relations:
            columns = [
                name
                for name, *_ in con.execute(f"describe {relation}").fetchall()
                if name not in BOOKKEEPING
            ]
            rows = con.execute(f"select {', '.join(columns)} from {relation} order by all")
            found[relation] = repr((columns, rows.fetchall())).encode()
    return found


def _curated(data_dir: Path) -> dict[str, bytes]:
    root = data_dir / "lake" / "curated"
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _curated_rows(data_dir: Path) -> dict[str, bytes]:
    """Each curated table's rows (business columns, sorted), read as a lake reader would."""
    found = {}
    with duckdb.connect() as con:
        for table in sorted(p for p in (data_dir / "lake" / "curated").iterdir() if p.is_dir()):
            rows = con.execute(
                # whichever bookkeeping columns the table has
                f"select columns(c -> c not in ({', '.join(map(repr, sorted(BOOKKEEPING)))}))"
                f" from read_parquet('{table}/**/*.parquet', hive_partitioning = true)"
                " order by all"
            ).fetchall()
            found[table.name] = repr(rows).encode()
    return found


def _no_staging_leftovers(data_dir: Path) -> bool:
    return not [p for p in (data_dir / "lake").rglob("*") if p.is_file() and ".staging" in p.parts]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("crash-and-repeat")
    landed = base / "landed"
    for command, options in zip(LANDINGS[::2], LANDINGS[1::2], strict=True):
        done = run_eventlake(landed, *command, *options)
        assert done.returncode == 0, done.stderr
    return {"landed": landed, "work": base / "work", "built": base / "built", "logs": base / "logs"}


def _fresh_work(folders: dict[str, Path], source: str = "landed") -> Path:
    work = folders["work"]
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(folders[source], work)
    return work


def _build_without_tests(work: Path) -> None:
    dbt(lake_paths(work), "build", "--exclude-resource-type", "test", "unit_test")


@pytest.fixture(scope="module")
def uninterrupted(folders: dict[str, Path]) -> dict[str, dict[str, bytes]]:
    """dbt build then `eventlake publish`, nothing going wrong (data tests run elsewhere: here
    they would only cost time)."""
    work = _fresh_work(folders)
    _build_without_tests(work)
    done = run_eventlake(work, "publish")
    assert done.returncode == 0, done.stderr
    shutil.copytree(work, folders["built"], ignore=shutil.ignore_patterns("curated"))
    return {"marts": _marts(work), "curated": _curated(work), "rows": _curated_rows(work)}


def test_two_builds_from_scratch_are_identical(
    folders: dict[str, Path], uninterrupted: dict[str, dict[str, bytes]]
) -> None:
    work = _fresh_work(folders)
    _build_without_tests(work)
    again = _marts(work)
    assert set(again) == set(uninterrupted["marts"])
    assert len(again) >= 10  # every mart and the quarantine
    for relation, body in uninterrupted["marts"].items():
        assert again[relation] == body, f"{relation} differs between two builds from scratch"


def test_killed_build_then_rerun_equals_uninterrupted(
    folders: dict[str, Path], uninterrupted: dict[str, dict[str, bytes]]
) -> None:
    """kill -9 `eventlake build` once dbt has built 20 nodes (its dbt dies with it), then build
    and publish again."""
    work = _fresh_work(folders)
    logs = folders["logs"]
    shutil.rmtree(logs, ignore_errors=True)
    env = {**os.environ, "DBT_LOG_PATH": str(logs)}
    env.pop(CRASH_ENV, None)
    command = [sys.executable, "-m", "orchestration.cli", "--data-dir", str(work), "build"]
    log = logs / "dbt.log"
    with subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as build:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while build.poll() is None and time.monotonic() < deadline:
            if log.exists() and log.read_text(errors="replace").count(" OK created ") >= 20:
                build.send_signal(signal.SIGKILL)
                break
            time.sleep(0.05)
        assert build.wait() == -signal.SIGKILL, "the build ended before the kill point"

    _build_without_tests(work)
    rerun = run_eventlake(work, "publish")
    assert rerun.returncode == 0, rerun.stderr
    assert _marts(work) == uninterrupted["marts"]
    assert _no_staging_leftovers(work)
    # The curated files carry the invocation ids, so compare what they hold.
    assert _curated_rows(work) == uninterrupted["rows"]


@pytest.mark.parametrize(
    "crash_at",
    ["before-rename:1", "partition-published:1", "partition-published:3", "before-rename:5"],
)
def test_killed_publish_then_rerun_equals_uninterrupted(
    crash_at: str, folders: dict[str, Path], uninterrupted: dict[str, dict[str, bytes]]
) -> None:
    work = _fresh_work(folders, "built")  # the uninterrupted build's warehouse, nothing published
    killed = run_eventlake(work, "publish", crash_at=crash_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    # A reader globbing the curated zone right after the crash reads only complete files.
    with duckdb.connect() as con:
        for parquet in (work / "lake" / "curated").rglob("*.parquet"):
            con.execute(f"select count(*) from read_parquet('{parquet}')").fetchone()
    rerun = run_eventlake(work, "publish")
    assert rerun.returncode == 0, rerun.stderr
    assert _curated(work) == uninterrupted["curated"]  # byte for byte
    assert _no_staging_leftovers(work)


def test_exact_aggregates_do_not_depend_on_the_thread_count(tmp_path: Path) -> None:
    """The macros give the same bits with 1 to 4 threads where avg() and stddev_samp() don't."""
    (tmp_path / "empty").mkdir()
    compiled = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "compile",
            "--quiet",
            "--project-dir",
            str(PROJECT_ROOT),
            "--profiles-dir",
            str(PROJECT_ROOT),
            "--inline",
            "select g, {{ eventlake.exact_avg('x') }} as m,"
            " {{ eventlake.exact_stddev_samp('x') }} as s from t group by g order by g",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "EVENTLAKE_DATA_DIR": str(tmp_path / "empty")},
    ).stdout
    exact_sql = compiled[compiled.index("select g,") :]
    plain_sql = "select g, avg(x), stddev_samp(x) from t group by g order by g"
    with duckdb.connect() as con:
        con.execute("select setseed(0.42)")
        con.execute(
            "create table rows as select (random() * 180 - 90)::double as x, i % 3 as g"
            " from range(300000) as r(i)"
        )
        # The same rows in two storage orders: summing in another order is what threads do.
        con.execute("create table as_drawn as select * from rows")
        con.execute("create table sorted as select * from rows order by x desc")
        plain, exact = set(), set()
        for table in ("as_drawn", "sorted"):
            for threads in (1, 2, 4):
                con.execute(f"set threads = {threads}")
                exact.add(repr(con.execute(exact_sql.replace(" t ", f" {table} ")).fetchall()))
            # One thread reads in storage order: deterministic, and different between orders.
            con.execute("set threads = 1")
            plain.add(repr(con.execute(plain_sql.replace(" t ", f" {table} ")).fetchall()))
    assert len(exact) == 1
    assert len(plain) > 1  # the problem the macros solve is real on this engine
