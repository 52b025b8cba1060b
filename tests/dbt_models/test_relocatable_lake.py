"""A data folder copied or moved elsewhere builds again with nothing new to stage (issue 12,
item 6): staged objects are identified by their key under the lake root, not their path."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from lakehelpers import dbt, eventlake_cli, marts_fingerprint

from ingestion.settings import LakePaths

pytestmark = pytest.mark.dbt

LANDINGS = (
    (
        "simulate",
        "--start",
        "2026-03-01",
        "--end",
        "2026-03-01T04:00",
        "--rooms",
        "3",
        "--malformed-fraction",
        "0.02",
        "--duplicate-fraction",
        "0.02",
    ),
    (
        "simulate-traffic",
        "--start",
        "2026-03-01",
        "--end",
        "2026-03-01T01:00",
        "--locations",
        "6",
        "--malformed-fraction",
        "0.02",
    ),
    ("simulate-seismic", "--start", "2026-03-01", "--days", "1", "--events-per-day", "40"),
)


def staged(paths: LakePaths) -> dict[str, tuple[int, object, int]]:
    """Per staging table: rows, the latest staged_at, and source_files outside raw/."""
    found = {}
    with duckdb.connect(str(paths.duckdb_file), read_only=True) as con:
        tables = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
            " where table_name like 'stg\\_%' escape '\\' and table_type = 'BASE TABLE'"
            " and table_name in (select table_name from information_schema.columns"
            "  where column_name = 'source_file') order by 1"
        ).fetchall()
        for (table,) in tables:
            found[table] = con.execute(
                f"select count(*), max(staged_at),"
                f" count(*) filter (where source_file not like 'raw/%') from {table}"
            ).fetchone()
    return found


def test_copied_data_folder_stages_nothing_again(tmp_path: Path) -> None:
    first = LakePaths(tmp_path / "first" / "data")
    for args in LANDINGS:
        eventlake_cli(first.data_dir, *args)
    dbt(first, "build")
    before = staged(first)
    rows = {table.rsplit(".", 1)[1]: count for table, (count, _at, _outside) in before.items()}
    for table in (
        "stg_sensor_firehose__readings",
        "stg_traffic_firehose__measurements",
        "stg_seismic__features",
    ):
        assert rows[table] > 0, rows
    assert all(outside == 0 for _rows, _at, outside in before.values()), before
    marts = marts_fingerprint(first)

    # Copy the folder elsewhere and remove the original: nothing may still point at it.
    moved = LakePaths(tmp_path / "elsewhere" / "copy-of-data")
    shutil.copytree(first.data_dir, moved.data_dir)
    shutil.rmtree(first.data_dir)
    dbt(moved, "build")  # includes the reconciliation tests: lines landed = staged rows

    assert staged(moved) == before  # same rows, and no row staged by the second build
    assert marts_fingerprint(moved) == marts
