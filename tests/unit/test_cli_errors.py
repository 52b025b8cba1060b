"""Every failing invocation prints exactly one line on stderr and exits non-zero (issue 11).

test_cli.py covers argument mistakes; these are the runtime failures that used to print a
traceback, two lines, or nothing at all and exit 0: database errors (missing, corrupt, locked
warehouse), driver messages spanning lines, more devices than the registry holds, a folder that
cannot be read, and bugs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from orchestration import cli


def _run(data_dir: Path | str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != cli.TRACEBACK_ENV},
    )


def _assert_one_error_line(done: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert done.returncode != 0, done.stdout
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("eventlake: "), lines[0]
    assert "Traceback" not in done.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def _corrupt_warehouse(data_dir: Path) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "eventlake.duckdb").write_bytes(b"not a duckdb file\n" * 4096)
    return data_dir


_ROOMS = ("--start", "2026-01-01", "--end", "2026-01-01T01:00")

WRONG_INVOCATIONS = [
    (("publish",), "/nonexistent", "no warehouse at /nonexistent"),
    (("summary",), "/nonexistent", "no warehouse at"),
    (("publish",), "corrupt", "not a valid DuckDB database"),
    (("summary",), "corrupt", "not a valid DuckDB database"),
    (("dashboards",), "corrupt", "error: "),  # the manifest or the warehouse, whichever first
    (("simulate", *_ROOMS, "--rooms", "999"), "tmp", "--rooms 999: the registry has only 20 rooms"),
    (("demo", "--rooms", "999"), "tmp", "--rooms 999: the registry has only 20 rooms"),
    (
        ("simulate-traffic", *_ROOMS, "--locations", "99999"),
        "tmp",
        "--locations 99999: the registry has only",
    ),
    (
        ("extract-db", "--url", "postgresql://postgres@127.0.0.1:1/nope"),
        "tmp",
        "could not connect",  # psycopg's message spans two lines
    ),
    (("import-history", "/nonexistent/history"), "tmp", "does not exist"),
    (("ml", "export"), "corrupt", "error: "),
]


@pytest.mark.usefixtures("dbt_manifest")  # publish and summary find relations in it first
@pytest.mark.parametrize(("args", "data_dir", "expected"), WRONG_INVOCATIONS)
def test_wrong_invocation_gives_one_line(
    args: tuple[str, ...], data_dir: str, expected: str, tmp_path: Path
) -> None:
    chosen: Path | str = data_dir
    if data_dir == "corrupt":
        chosen = _corrupt_warehouse(tmp_path / "corrupt")
    elif data_dir == "tmp":
        chosen = tmp_path / "lake"
    _assert_one_error_line(_run(chosen, *args), expected)
    if data_dir == "tmp":  # refused before anything was landed
        assert not (tmp_path / "lake" / "lake" / "raw").exists()


@pytest.mark.usefixtures("dbt_manifest")
def test_locked_warehouse_gives_one_line(tmp_path: Path) -> None:
    """Another process holds the warehouse open for writing (a dbt run, a notebook)."""
    warehouse = tmp_path / "eventlake.duckdb"
    holder_code = textwrap.dedent(
        f"""
        import sys, duckdb
        con = duckdb.connect({str(warehouse)!r})
        con.execute("create table t as select 1 as x")
        print("holding", flush=True)
        sys.stdin.read()  # until the test closes our stdin
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", holder_code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        try:
            for command in ("publish", "summary"):
                line = _assert_one_error_line(_run(tmp_path, command))
                assert "lock" in line.lower(), line
        finally:
            assert holder.stdin is not None
            holder.stdin.close()


def test_unreadable_history_folder_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "history"
    (source / "locked").mkdir(parents=True)
    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:
        # chmod 000 does not stop root (CI), so the folder's refusal is simulated where the
        # walk asks the operating system for it.
        if Path(os.fspath(path)).name == "locked":  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", os.fspath(path))  # type: ignore[arg-type]
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    code = cli.main(["--data-dir", str(tmp_path / "lake"), "import-history", str(source)])
    assert code == cli.EXIT_FAILURE
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "cannot read folder" in err[0] and "locked" in err[0], err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder; covered by the test above")
def test_unreadable_history_folder_really(tmp_path: Path) -> None:
    locked = tmp_path / "history" / "locked"
    locked.mkdir(parents=True)
    locked.chmod(0)
    try:
        _assert_one_error_line(
            _run(tmp_path / "lake", "import-history", str(tmp_path / "history")),
            "cannot read folder",
        )
    finally:
        locked.chmod(0o755)


def test_a_bug_is_one_line_with_the_way_to_its_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise TypeError("unsupported operand\nsecond line")

    monkeypatch.setattr(cli, "_run", broken)
    monkeypatch.delenv(cli.TRACEBACK_ENV, raising=False)
    assert cli.main(["--data-dir", str(tmp_path), "summary"]) == cli.EXIT_FAILURE
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("eventlake: internal error (TypeError): unsupported operand second")
    assert cli.TRACEBACK_ENV in err[0]
    monkeypatch.setenv(cli.TRACEBACK_ENV, "1")
    assert cli.main(["--data-dir", str(tmp_path), "summary"]) == cli.EXIT_FAILURE
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "expected_vars"),
    [((), None), (("--reading-interval-seconds", "2"), {"expected_reading_interval_seconds": 2})],
)
def test_build_passes_the_configured_cadence_to_dbt(
    flags: tuple[str, ...],
    expected_vars: dict[str, int] | None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """After `simulate --cadence-seconds 2`, the coverage test must expect 2 s, not 60 s."""
    import json

    from orchestration import dbt_runner, publish

    calls: list[list[str]] = []
    monkeypatch.setattr(dbt_runner, "run_dbt", lambda args, paths, **_: calls.append(list(args)))
    monkeypatch.setattr(publish, "publish_curated", lambda paths: [])
    assert cli.main(["--data-dir", str(tmp_path), "build", *flags]) == 0
    (args,) = calls
    if expected_vars is None:
        assert "--vars" not in args
    else:
        assert json.loads(args[args.index("--vars") + 1]) == expected_vars
