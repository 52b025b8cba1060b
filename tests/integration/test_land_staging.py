"""A file written the way a user's tools write it goes through `eventlake land` and the
temperature staging with every line accounted for: lines landed = accepted + quarantined."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from lakehelpers import dbt

from ingestion.raw_zone import RawZone
from ingestion.sensors.landing import LIVE_FEED
from ingestion.settings import PROJECT_ROOT, LakePaths
from orchestration.duckdb_functions import register_functions

pytestmark = pytest.mark.dbt

START = datetime(2026, 3, 1, tzinfo=UTC)


def user_file() -> bytes:
    """Two days of hourly readings for a registered room (A101) and one nobody registered,
    as an export tool writes them: a byte order mark, CRLF line ends, fields the pipeline does
    not know, a reading whose room name was written in Latin-1, a blank line at the end."""
    lines = []
    for hour in range(48):
        at = (START + timedelta(hours=hour)).strftime("%Y-%m-%d %H:%M:%S")
        for room in ("A101", "LAB-7"):
            value = 20 + (hour % 24) / 10
            lines.append(
                f'{{"timestamp": "{at}", "room_id": "{room}", "temperature": {value},'
                f' "unit": "C", "battery": {90 - hour // 10}, "fw": "1.2.3"}}'.encode()
            )
    lines[5] = lines[5].replace(b'"LAB-7"', '"Labor-Süd"'.encode("latin-1"))
    return b"\xef\xbb\xbf" + b"\r\n".join(lines) + b"\r\n\r\n"


def test_users_hourly_ndjson_is_landed_and_every_line_accounted_for(tmp_path: Path) -> None:
    paths = LakePaths(tmp_path / "data")
    source = tmp_path / "export" / "readings.ndjson"
    source.parent.mkdir()
    source.write_bytes(user_file())

    done = subprocess.run(
        [
            *(sys.executable, "-m", "orchestration.cli", "--data-dir", str(paths.data_dir)),
            *("land", "temperature", str(source.parent)),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "96 lines landed" in done.stdout and "1 blank line not landed" in done.stdout
    landed = sum(
        len(obj.read_bytes().removesuffix(b"\n").split(b"\n"))
        for obj in RawZone(paths.raw).objects(LIVE_FEED)
    )
    assert landed == 96

    # the seeds (room registry, reasons), then the temperature staging model of this feed
    dbt(paths, "seed")
    dbt(paths, "run", "--select", "stg_sensor_firehose__readings")

    with register_functions(duckdb.connect(str(paths.duckdb_file), read_only=True)) as con:
        outcomes = dict(
            con.execute(
                "select coalesce(rejection_reason, 'accepted'), count(*)"
                " from main_staging.stg_sensor_firehose__readings group by 1"
            ).fetchall()
        )
    with open(PROJECT_ROOT / "seeds" / "quarantine_reasons.csv", newline="") as handle:
        reasons = {row["reason"] for row in csv.DictReader(handle)}
    assert sum(outcomes.values()) == landed  # accepted + quarantined = landed
    assert set(outcomes) - {"accepted"} <= reasons  # every rejection has a known reason
    # The BOM, the CRLF ends and the extra fields cost nothing: all of A101 is accepted.
    assert outcomes == {"accepted": 48, "unknown_room": 47, "invalid_json": 1}
