"""The runner's controls, without dbt: the lock, --wait, a bad --every, a signal mid-run.

Each test starts from an empty lake whose last successful run saw no raw object, so a run does
its imports, finds no new data and skips the rest: cheap, and nothing depends on timing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ingestion.settings import LakePaths, lake_paths
from orchestration import run_state
from orchestration.pipeline import PIPELINE, gate_index, step
from orchestration.run_records import read_records
from orchestration.run_state import PendingRun, RunLock
from orchestration.runner import RunOptions, parse_interval, run_pipeline


def _quiet_lake(tmp_path: Path) -> LakePaths:
    paths = lake_paths(tmp_path / "lake")
    run_state.save_success(paths, "earlier", [])
    return paths


def _cli(paths: LakePaths, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "--data-dir", str(paths.data_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[arg-type]
    )


def test_the_pipeline_definition_is_consistent() -> None:
    assert PIPELINE[gate_index()].kind == "gate"
    assert all(not s.skip_when_no_new_data for s in PIPELINE[: gate_index() + 1])
    assert all(s.skip_when_no_new_data for s in PIPELINE[gate_index() + 1 :])
    assert {s.parallel_group for s in PIPELINE if s.kind == "import"} == {"imports"}
    with pytest.raises(ValueError, match="no pipeline step 'nope'"):
        step("nope")


def test_every_non_dbt_command_is_a_real_cli_command() -> None:
    from orchestration.cli import build_parser

    parser = build_parser()
    for s in PIPELINE:
        if s.kind not in ("dbt", "gate"):
            parser.parse_args(["--data-dir", "/x", *s.cli_command("/x")])


def test_a_second_run_exits_0_with_one_line_while_one_is_in_progress(tmp_path: Path) -> None:
    paths = _quiet_lake(tmp_path)
    lock = RunLock(paths)
    assert lock.acquire(wait=False, holder="pid 1 (the test)")
    try:
        done = _cli(paths, "run")
        out, err = done.communicate(timeout=120)
    finally:
        lock.release()
    assert done.returncode == 0, err
    assert out.splitlines() == ["a run is in progress (pid 1 (the test)): not starting another"]
    assert read_records(paths) == []  # the refused run did nothing and recorded nothing


def test_wait_runs_once_the_lock_is_released(tmp_path: Path) -> None:
    paths = _quiet_lake(tmp_path)
    lock = RunLock(paths)
    assert lock.acquire(wait=False, holder="the test")
    waiting = _cli(paths, "run", "--wait")
    assert waiting.stdout is not None
    first = waiting.stdout.readline()  # blocks until the run has reached the lock
    assert first.startswith("a run is in progress (the test): waiting")
    lock.release()
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert "no new raw object since the last successful run: skipped 8 steps" in out
    assert [r["outcome"] for r in read_records(paths)] == ["skipped"]


@pytest.mark.parametrize("every", ["15x", "0m", "m", "-5m", "1.5h"])
def test_a_bad_every_is_one_line_and_a_usage_exit(tmp_path: Path, every: str) -> None:
    done = _cli(lake_paths(tmp_path), "run", "--every", every)
    out, err = done.communicate(timeout=60)
    assert done.returncode == 2
    assert out == "" and len(err.strip().splitlines()) == 1 and "--every" in err


def test_intervals() -> None:
    assert parse_interval("15m").total_seconds() == 900
    assert parse_interval("1d").total_seconds() == 86400
    with pytest.raises(ValueError, match="not an interval"):
        parse_interval("15")


def test_a_signal_finishes_the_current_step_then_the_next_run_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _quiet_lake(tmp_path)
    import orchestration.runner as runner

    real = runner._extract_database

    def extract_then_signalled(ctx: runner._Context) -> tuple[str, int | None]:
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while this step is running
        return real(ctx)

    monkeypatch.setattr(runner, "_extract_database", extract_then_signalled)
    said: list[str] = []
    stopped = run_pipeline(paths, RunOptions(), said.append)
    assert stopped.outcome == "interrupted" and stopped.exit_code == 130
    assert [r.status for r in stopped.steps] == ["ran", "ran"]  # the step finished, no other
    assert any("stopped on SIGTERM before import_seismic_files" in line for line in said)
    pending = PendingRun.load(paths)
    assert pending is not None
    assert pending.completed == ["import_history_files", "extract_database"]

    monkeypatch.setattr(runner, "_extract_database", real)
    said.clear()
    resumed = run_pipeline(paths, RunOptions(), said.append)
    assert resumed.outcome == "skipped"
    assert said[0].startswith(f"resuming run {pending.run_id} (attempt 2) at step import_seismic")
    records = read_records(paths)
    assert [(r["outcome"], r["attempt"]) for r in records] == [("interrupted", 1), ("skipped", 2)]
    assert PendingRun.load(paths) is None


def test_restart_starts_a_new_run_instead_of_resuming(tmp_path: Path) -> None:
    paths = _quiet_lake(tmp_path)
    PendingRun(
        "old-run", "2026-04-01T00:00:00+00:00", False, completed=["import_history_files"]
    ).save(paths)
    said: list[str] = []
    result = run_pipeline(paths, RunOptions(restart=True), said.append)
    assert said[0] == "--restart: run old-run will not be resumed"
    assert result.outcome == "skipped" and result.run_id != "old-run"
    assert [r.status for r in result.steps[:3]] == ["ran", "ran", "ran"]
    assert PendingRun.load(paths) is None
