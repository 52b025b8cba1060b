"""A killed `eventlake` leaves no dbt behind (orchestration/dbt_runner.py: run_child).

Each test waits for a condition (a child exists), never for an amount of time; the deadlines
only bound a failing test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc; prctl is Linux")

DEADLINE_SECONDS = 60.0


def _alive(pid: int) -> bool:
    """Running, i.e. neither gone nor a zombie waiting to be reaped."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "Z" not in state.split()[1]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command name (which may hold spaces) start at ") ".
        ppid = int(stat.rsplit(") ", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found


def _wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


def test_child_dies_when_parent_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    parent_code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from orchestration.dbt_runner import run_child
        sleeper = "import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
        sleeper += "time.sleep(600)"
        run_child([sys.executable, "-c", sleeper], cwd=Path("."), env={{}})
        """
    )
    with subprocess.Popen([sys.executable, "-c", parent_code]) as parent:
        _wait_for(lambda: pid_file.exists() and pid_file.read_text(), "the child to start")
        child = int(pid_file.read_text())
        assert _alive(child)
        # The child has its own process group, so killing the parent's group would not reach it.
        assert os.getpgid(child) != os.getpgid(parent.pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    _wait_for(lambda: not _alive(child), "the orphaned child to die")


def test_interrupted_parent_stops_the_child_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    parent_code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from orchestration.dbt_runner import run_child
        sleeper = "import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
        sleeper += "time.sleep(600)"
        try:
            run_child([sys.executable, "-c", sleeper], cwd=Path("."), env={{}})
        except KeyboardInterrupt:
            sys.exit(130)
        """
    )
    with subprocess.Popen([sys.executable, "-c", parent_code]) as parent:
        _wait_for(lambda: pid_file.exists() and pid_file.read_text(), "the child to start")
        child = int(pid_file.read_text())
        parent.send_signal(signal.SIGINT)  # Ctrl-C reaches only eventlake's group
        assert parent.wait(timeout=DEADLINE_SECONDS) == 130
    assert not _alive(child)  # stopped and reaped before the parent returned


def test_killed_eventlake_build_leaves_no_dbt(tmp_path: Path) -> None:
    """The real thing: kill -9 `eventlake build` while its dbt runs; dbt goes too."""
    command = [sys.executable, "-m", "orchestration.cli", "--data-dir", str(tmp_path), "build"]
    with subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as eventlake:
        _wait_for(lambda: _children(eventlake.pid), "eventlake to start dbt")
        dbt = _children(eventlake.pid)
        eventlake.send_signal(signal.SIGKILL)
        eventlake.wait()
    for pid in dbt:
        _wait_for(lambda pid=pid: not _alive(pid), f"dbt (pid {pid}) to die with eventlake")
