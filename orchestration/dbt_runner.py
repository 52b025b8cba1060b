"""Run dbt against this project, with the profile and lake location set up.

Two ways: ``run_dbt`` starts dbt as a child process (one command, e.g. ``eventlake build``);
``WarmDbt`` runs a sequence of dbt commands in this process and parses the project once for all
of them (``eventlake run``, where start-up and parsing were most of a small increment).

dbt reads ``profiles.yml`` from the project folder first; it is made from the committed
``profiles.yml.example`` when missing, so nobody copies files by hand.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingestion.settings import PROJECT_ROOT, LakePaths


class DbtError(RuntimeError):
    """dbt finished with errors or failed tests."""


@dataclass(frozen=True)
class DbtOutcome:
    command: tuple[str, ...]
    success: bool


def ensure_profiles(project_dir: Path = PROJECT_ROOT) -> Path:
    profiles = project_dir / "profiles.yml"
    if not profiles.exists():
        shutil.copyfile(project_dir / "profiles.yml.example", profiles)
    return project_dir


def dbt_target_dir() -> Path:
    """dbt's target folder (manifest, run results), where dbt itself puts it: ``$DBT_TARGET_PATH``
    (relative to the project, as dbt reads it), else ``<project>/target``."""
    return PROJECT_ROOT / (os.environ.get("DBT_TARGET_PATH") or "target")


def dbt_executable() -> str:
    """The dbt installed beside this Python (the project's environment), else the one on PATH."""
    beside = Path(sys.executable).with_name("dbt")
    found = str(beside) if beside.exists() else shutil.which("dbt")
    if not found:
        raise DbtError("dbt is not installed in this environment; run `make setup` first")
    return found


def run_dbt(
    args: Sequence[str],
    paths: LakePaths,
    *,
    target: str | None = None,
    check: bool = True,
    quiet: bool = False,
    extra_env: dict[str, str] | None = None,
) -> DbtOutcome:
    """Run ``dbt <args>`` on ``paths``' lake; raise DbtError when ``check`` and it fails.

    dbt runs in its own process: dbt-duckdb keeps its database connection open for the life of
    the process, which would lock the warehouse file against the steps that follow.
    """
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    project_dir = ensure_profiles()
    command = [dbt_executable(), *(["--quiet"] if quiet else []), *args]
    command += ["--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    if target:
        command += ["--target", target]
    env = {**os.environ, "EVENTLAKE_DATA_DIR": str(paths.data_dir), **(extra_env or {})}
    returncode = run_child(command, cwd=project_dir, env=env)
    outcome = DbtOutcome(tuple(args), returncode == 0)
    if check and not outcome.success:
        raise DbtError(
            f"dbt {' '.join(args)} failed (exit {returncode}); the failing node is in"
            " the dbt output above and in logs/dbt.log"
        )
    return outcome


# --------------------------------------------------------------------------- in this process


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` set in os.environ while inside (dbt's ``env_var`` reads it), restored after."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def release_duckdb() -> None:
    """Close dbt-duckdb's database handle, which it keeps for the life of the process, so the
    steps between dbt commands (the ML steps, publish) can open the warehouse file."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


class WarmDbt:
    """dbt commands run in this process on one lake, the project parsed once for all of them.

    The first command parses the project (dbt's start-up, several seconds); the following ones
    reuse that manifest through dbt's programmatic API. Between commands the DuckDB file is
    released (``release_duckdb``). Make one per run: a manifest holds what the project and the
    environment were when it was parsed.

    A SIGINT handled by the caller (``eventlake run`` lets the current step finish) does not
    reach dbt; with Python's default handler it interrupts dbt, which cancels its queries, and
    the command fails (DbtError) with what it had finished recorded for ``dbt retry``.
    """

    def __init__(self, paths: LakePaths, *, quiet: bool = True) -> None:
        self.paths = paths
        self.quiet = quiet
        self.parses = 0  # how many times the project was parsed (once, unless the parse failed)
        self._manifest: Any = None
        self._project_dir = ensure_profiles()

    def for_lake(self, paths: LakePaths) -> WarmDbt:
        """The same parsed project on another lake: a manifest does not depend on the lake's
        folder (every path to it is rendered when a command runs), so tests building many
        lakes parse once."""
        other = WarmDbt(paths, quiet=self.quiet)
        other._manifest = self.manifest
        return other

    def _common(self) -> list[str]:
        return ["--project-dir", str(self._project_dir), "--profiles-dir", str(self._project_dir)]

    @property
    def manifest(self) -> Any:
        """The parsed project (dbt's Manifest), parsed on first use."""
        if self._manifest is None:
            from dbt.cli.main import dbtRunner

            with self._lake_environment({}):
                parsed = dbtRunner().invoke(["--quiet", "parse", *self._common()])
            self.parses += 1
            if not parsed.success:
                raise DbtError(f"dbt parse failed: {parsed.exception or 'see logs/dbt.log'}")
            self._manifest = parsed.result
        return self._manifest

    @contextmanager
    def _lake_environment(self, extra_env: dict[str, str]) -> Iterator[None]:
        self.paths.data_dir.mkdir(parents=True, exist_ok=True)
        with _environment({"EVENTLAKE_DATA_DIR": str(self.paths.data_dir), **extra_env}):
            try:
                yield
            finally:
                release_duckdb()

    def invoke(self, args: Sequence[str], *, extra_env: dict[str, str] | None = None) -> Any:
        """Run ``dbt <args>``; its result (for build/run/retry a RunExecutionResult), or
        DbtError when dbt fails or a node errors."""
        from dbt.cli.main import dbtRunner

        manifest = self.manifest
        command = [*(["--quiet"] if self.quiet else []), *args, *self._common()]
        with self._lake_environment(extra_env or {}):
            done = dbtRunner(manifest=manifest).invoke(command)
        if done.exception is not None:  # a KeyboardInterrupt too: dbt has cancelled its queries
            exc = done.exception
            raise DbtError(f"dbt {' '.join(args)} failed: {type(exc).__name__}: {exc}") from exc
        if not done.success:
            raise DbtError(
                f"dbt {' '.join(args)} failed; the failing node is in the dbt output above"
                " and in logs/dbt.log"
            )
        return done.result


# --------------------------------------------------------------------------- child processes
# A dbt left running after eventlake dies keeps the warehouse file locked and writes into it
# while the next run starts. So dbt runs in its own process group, the kernel kills it when its
# parent dies however it dies (kill -9 included; Linux's PR_SET_PDEATHSIG), and an interrupted
# parent stops the whole group before it returns.

_PR_SET_PDEATHSIG = 1
_STOP_GRACE_SECONDS = 10.0


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """A preexec function asking the kernel to SIGKILL the child when ``parent`` dies."""
    try:
        # Resolved here, in the parent: the forked child then calls it without loading anything.
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: the process group still applies
        return None

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def run_child(command: Sequence[str], *, cwd: Path, env: dict[str, str]) -> int:
    """Run ``command`` to completion as a child that cannot outlive this process; its exit code.

    If this process is interrupted (Ctrl-C, or an exception while waiting), the child's group
    gets SIGINT (dbt cancels its queries and exits), then SIGKILL after a grace period.
    """
    proc = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=env,
        start_new_session=True,  # its own group: stop dbt and whatever it started, together
        # The preexec function only makes one system call (see _die_with_parent).
        preexec_fn=_die_with_parent(os.getpid()),
    )
    try:
        return proc.wait()
    except BaseException:
        _stop_group(proc)
        raise


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGINT, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=_STOP_GRACE_SECONDS)
            return
        except subprocess.TimeoutExpired:
            continue
