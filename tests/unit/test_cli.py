"""The command line: one clear line and a non-zero exit for every mistake, never a traceback."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.cli import main


def _run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("nonsense",),
        ("demo", "--days", "0"),
        ("demo", "--rooms", "many"),
        ("simulate", "--start", "yesterday", "--end", "2026-01-02"),
        ("simulate", "--start", "2026-01-01"),
        ("simulate", "--start", "2026-01-01", "--end", "2026-01-02", "--malformed-fraction", "2"),
        ("extract-db", "--format", "xml"),
    ],
)
def test_wrong_arguments_give_one_line_and_exit_2(args: tuple[str, ...], tmp_path: Path) -> None:
    done = _run(*args, data_dir=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert re.match(r"eventlake( [a-z-]+)?: error: .+ \(see eventlake", lines[0]), lines[0]


@pytest.mark.parametrize(
    "args",
    [
        ("summary",),
        ("import-history", "/definitely/not/here"),
        ("simulate", "--start", "2026-01-02", "--end", "2026-01-01"),
        ("simulate", "--start", "2026-01-01", "--end", "2026-01-02", "--delivery", "firehose"),
        ("extract-db", "--url", "sqlite:////definitely/not/here.db", "--table", "nope"),
    ],
)
def test_failures_give_one_line_and_exit_1(args: tuple[str, ...], tmp_path: Path) -> None:
    done = _run(*args, data_dir=tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("eventlake: error: "), done.stderr
    assert "Traceback" not in done.stderr


def test_help_lists_every_step(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in (
        "demo",
        "simulate",
        "import-history",
        "extract-db",
        "build",
        "publish",
        "summary",
    ):
        assert command in out


def test_simulate_lands_locally_once(tmp_path: Path) -> None:
    args = ("simulate", "--start", "2026-01-01", "--end", "2026-01-01T02:00", "--rooms", "2")
    first = _run(*args, data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "240 records delivered" in first.stdout
    again = _run(*args, data_dir=tmp_path)
    assert "already landed, skipped" in again.stdout
    landed = list((tmp_path / "lake" / "raw" / "sensor_readings").rglob("*-1-2026-01-01-*"))
    assert landed and sum(len(p.read_text().splitlines()) for p in landed) == 240
