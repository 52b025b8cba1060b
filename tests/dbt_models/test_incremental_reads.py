"""An incremental run opens only the raw objects it has not staged yet (issue 13, item 3).

DuckDB does not push a filter on the file name into read_blob's glob: filtering the feed's view
by source_file still read every object of the feed on every run. Staging now names the new
files to read_blob itself; these tests fail against a model that reads the feed's glob.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lakehelpers import T0, dbt, eventlake_cli, hours, land, query, relation

from ingestion.sensors.landing import LIVE_FEED
from ingestion.settings import LakePaths
from orchestration.dbt_runner import dbt_target_dir

pytestmark = pytest.mark.dbt

MODEL = "stg_sensor_firehose__readings"
COMPILED = Path("compiled/eventlake/models/staging/sensor_firehose") / f"{MODEL}.sql"


def objects(paths: LakePaths) -> set[str]:
    return {str(p) for p in (paths.raw / LIVE_FEED).rglob("*") if p.is_file()}


def files_read(paths: LakePaths) -> list[str]:
    """The files the model's compiled SQL hands to read_blob (a glob counts as one)."""
    assert dbt(paths, "compile", "--select", MODEL)
    compiled = (dbt_target_dir() / COMPILED).read_text()
    calls = re.findall(r"read_blob\((.*?)\)", compiled, flags=re.S)
    assert len(calls) == 1, calls
    return sorted(re.findall(r"'([^']*)'", calls[0]))


def test_an_increment_reads_only_the_objects_it_has_not_staged(tmp_path: Path) -> None:
    paths = LakePaths(tmp_path / "data")
    land(paths, T0, T0 + hours(2), seed=1, malformed_fraction=0.05)
    assert dbt(paths, "seed")
    assert dbt(paths, "run", "--select", f"+{MODEL}")
    staged_before = objects(paths)

    land(paths, T0 + hours(2), T0 + hours(3), seed=2, malformed_fraction=0.05)
    new = objects(paths) - staged_before
    assert new, "the second landing wrote no object"
    assert [Path(f).resolve() for f in files_read(paths)] == sorted(Path(f).resolve() for f in new)

    # and what it reads is exactly what was missing: every landed line staged once
    assert dbt(paths, "run", "--select", MODEL)
    rows, files = query(
        paths, f"select count(*), count(distinct source_file) from {relation(MODEL)}"
    )[0]
    assert files == len(staged_before | new)
    assert rows == sum(
        sum(1 for line in Path(f).read_bytes().split(b"\n") if line) for f in staged_before | new
    )


def test_an_increment_with_nothing_new_reads_no_object(tmp_path: Path) -> None:
    paths = LakePaths(tmp_path / "data")
    land(paths, T0, T0 + hours(1), seed=1)
    assert dbt(paths, "seed")
    assert dbt(paths, "run", "--select", f"+{MODEL}")
    assert dbt(paths, "compile", "--select", MODEL)
    compiled = (dbt_target_dir() / COMPILED).read_text()
    # neither the reader nor the feed's view (which reads every object) is in the query
    assert "read_blob" not in compiled
    assert f'"{LIVE_FEED}"' not in compiled


def test_an_increment_of_a_users_latin1_file_reads_only_it_and_keeps_its_line(
    tmp_path: Path,
) -> None:
    """Outside input: a user's export saved as Latin-1 ("CSV (Windows)" habits), landed with
    `eventlake land` after a first build. The increment opens that object alone; land keeps the
    byte as a \\xNN escape, which JSON does not allow, so the line is quarantined with its text
    instead of failing the build."""
    paths = LakePaths(tmp_path / "data")
    land(paths, T0, T0 + hours(1), seed=1)
    assert dbt(paths, "seed")
    assert dbt(paths, "run", "--select", f"+{MODEL}")
    staged_before = objects(paths)
    export = tmp_path / "export.ndjson"
    export.write_bytes(
        b'{"room_id": "A101", "timestamp": "2026-03-01T05:00:00Z", "temperature": 21.5,'
        b' "note": "salle d\xe9tude"}\r\n'
    )
    eventlake_cli(paths.data_dir, "land", "temperature", str(export))
    new = objects(paths) - staged_before
    assert len(new) == 1
    assert [Path(f).resolve() for f in files_read(paths)] == [Path(f).resolve() for f in new]
    assert dbt(paths, "run", "--select", MODEL)
    assert query(
        paths,
        f"select rejection_reason, raw_line from {relation(MODEL)}"
        f" where source_file like '%{Path(next(iter(new))).name}'",
    ) == [("invalid_json", export.read_bytes()[:-2].decode("utf-8", "backslashreplace"))]
