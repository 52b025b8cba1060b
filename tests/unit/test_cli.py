"""The command line: one clear line and a non-zero exit for every mistake, never a traceback."""

from __future__ import annotations

import re
import socket
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
        ("simulate", "--start", "2026-01-01", "--end", "2026-01-02", "--broker", "host:port"),
        ("mqtt-bridge", "--broker", "localhost:70000"),
        ("mqtt-bridge", "--idle-timeout", "0"),
        ("simulate-traffic", "--start", "2026-01-01"),
        (
            "simulate-traffic",
            "--start",
            "2026-01-01",
            "--end",
            "2026-01-02",
            "--late-fraction",
            "1",
        ),
        ("simulate-traffic", "--start", "2026-01-01", "--end", "2026-01-02", "--locations", "0"),
        ("ml",),
        ("ml", "fit"),
        ("ml", "train", "--engine", "spark"),
        ("ml", "train", "--shingle-size", "0"),
        ("ml", "score", "--threshold-quantile", "1.5"),
        ("simulate-seismic", "--start", "yesterday"),
        ("simulate-seismic", "--start", "2026-01-01", "--invalid-fraction", "1.5"),
        ("import-seismic",),
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
        ("simulate-traffic", "--start", "2026-01-01T00:00:30", "--end", "2026-01-02"),
        ("ml", "train"),
        ("ml", "evaluate"),
        ("ml", "score", "--engine", "sagemaker"),
        ("import-seismic", "/definitely/not/here"),
        ("simulate-seismic", "--start", "2026-01-01", "--days", "2", "--broken-files", "3"),
    ],
)
def test_failures_give_one_line_and_exit_1(args: tuple[str, ...], tmp_path: Path) -> None:
    done = _run(*args, data_dir=tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("eventlake: error: "), done.stderr
    assert "Traceback" not in done.stderr


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("command", ["simulate", "mqtt-bridge"])
def test_unreachable_mqtt_broker_gives_one_line_and_exit_1(command: str, tmp_path: Path) -> None:
    port = _unused_port()  # nothing listens there
    args = ["--broker", f"127.0.0.1:{port}", "--idle-timeout", "1"]
    if command == "simulate":
        args = ["--start", "2026-01-01", "--end", "2026-01-01T01:00", "--rooms", "1"]
        args += ["--delivery", "mqtt", "--broker", f"127.0.0.1:{port}"]
    done = _run(command, *args, data_dir=tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"eventlake: error: cannot reach MQTT broker at 127.0.0.1:{port}: ")
    assert lines[0].endswith("; start mosquitto or pass --broker")


def test_help_lists_every_step(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in (
        "demo",
        "simulate",
        "simulate-traffic",
        "import-history",
        "extract-db",
        "build",
        "publish",
        "summary",
        "mqtt-bridge",
        "ml",
        "simulate-seismic",
        "import-seismic",
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


def test_simulate_traffic_lands_locally_once(tmp_path: Path) -> None:
    args = ("simulate-traffic", "--start", "2026-01-01", "--end", "2026-01-01T01:00")
    first = _run(*args, "--locations", "3", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "180 measurements landed" in first.stdout
    again = _run(*args, "--locations", "3", data_dir=tmp_path)
    assert "already landed, skipped" in again.stdout
    landed = list((tmp_path / "lake" / "raw" / "traffic_measurements").rglob("*"))
    lines = sum(len(p.read_text().splitlines()) for p in landed if p.is_file())
    assert lines == 180


def test_seismic_simulate_and_import_land_once(tmp_path: Path) -> None:
    args = ("simulate-seismic", "--start", "2026-01-01", "--days", "2", "--events-per-day", "20")
    first, again = _run(*args, data_dir=tmp_path), _run(*args, data_dir=tmp_path)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert "2 daily files" in first.stdout and first.stdout.rstrip().endswith("landed")
    assert "already landed, skipped" in again.stdout
    source = tmp_path / "quake.geojson"
    source.write_text('{"type": "FeatureCollection", "features": []}')
    imported = _run("import-seismic", str(source), data_dir=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "1 seismic files imported (1 emsc), 0 already imported"
    repeat = _run("import-seismic", str(source), data_dir=tmp_path)
    assert repeat.stdout.strip() == "0 seismic files imported (none), 1 already imported"
