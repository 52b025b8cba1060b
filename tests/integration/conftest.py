"""A real PostgreSQL server for integration tests, found or started, and a fresh database in it.

Order: ``$EVENTLAKE_TEST_POSTGRES_URL``; else the local server on 127.0.0.1:5432 (user postgres,
trust auth); else a throwaway server from installed binaries (``/usr/lib/postgresql/*/bin``),
run as user ``postgres`` when we are root, stopped at session end; else the tests are skipped
with the reason.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

LOCAL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _can_connect(url: str) -> str | None:
    """None when ``url`` accepts a connection, else why not."""
    try:
        import sqlalchemy as sa

        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("select 1"))
        finally:
            engine.dispose()
    except Exception as exc:  # any failure means "not usable"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:  # initdb refuses to run as root
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _start_throwaway() -> tuple[str, list[str], Path] | str:
    """(url, stop command, dir) of a fresh server, or why none could be started."""
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdbs:
        return "no PostgreSQL binaries under /usr/lib/postgresql/*/bin"
    bindir = Path(initdbs[-1]).parent
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: cannot run initdb as postgres"
    root = Path(tempfile.mkdtemp(prefix="eventlake-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    port = _free_port()
    try:
        subprocess.run(
            _as_postgres(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            _as_postgres(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(root / "log"),
                    "-w",
                    "-o",
                    f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        return f"could not start a throwaway server from {bindir}: {exc}"
    stop = _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", stop, root


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a maintenance database on a usable server (see module docstring)."""
    reasons = []
    env_url = os.environ.get("EVENTLAKE_TEST_POSTGRES_URL")
    if env_url:
        why = _can_connect(env_url)
        if why is None:
            yield env_url
            return
        reasons.append(f"$EVENTLAKE_TEST_POSTGRES_URL unusable ({why})")
    why = _can_connect(LOCAL_URL)
    if why is None:
        yield LOCAL_URL
        return
    reasons.append(f"{LOCAL_URL} unusable ({why})")
    started = _start_throwaway()
    if isinstance(started, str):
        reasons.append(started)
        pytest.skip("no PostgreSQL server: " + "; ".join(reasons))
    url, stop, root = started
    deadline = time.monotonic() + 30
    while (why := _can_connect(url)) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    try:
        if why is not None:
            pytest.skip(f"throwaway PostgreSQL server not reachable: {why}")
        yield url
    finally:
        subprocess.run(stop, capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, uniquely named database for this test session, dropped afterwards."""
    import sqlalchemy as sa

    name = f"eventlake_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield (
            sa.make_url(postgres_server_url)
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
