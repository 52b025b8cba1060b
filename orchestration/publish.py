"""Publish partitioned facts from the DuckDB warehouse file to the lake's curated zone.

The curated zone holds the files Athena would read from S3: Hive-partitioned Parquet,
``curated/<table>/<column>=<value>[/<column>=<value>...]/part-0.parquet``. Only partitions whose
rows were rebuilt since the last publish are rewritten (dbt stamps each row with the invocation
that built it); partitions that disappeared are removed. Each file is written in
``<lake>/.staging/curated`` (outside the zone) and renamed into place, so a reader never sees a
half-written partition, a crash leaves the previous file intact, and the next publish removes
what the crash left in staging and rewrites what the manifest does not record yet.

One publish reads a table twice whatever its partition count: one grouped scan fingerprints every
partition, one scan copies the rows of the changed partitions, sorted once, into a temporary
table; each partition's file is then a contiguous row range of it. (DuckDB's partitioned
``COPY ... PARTITION_BY`` would write them in one statement, but it does not keep the rows'
order inside a file, and the files must be identical whichever partitions a publish rewrites.)
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from ingestion.crash_points import crash_point
from ingestion.raw_zone import (
    STAGING_DIR,
    atomic_write_bytes,
    clean_staging,
    staging_file,
    staging_root_for,
)
from ingestion.settings import LakePaths
from orchestration.relations import Relations

MANIFEST = "_published.json"
FILE_NAME = "part-0.parquet"


@dataclass(frozen=True)
class PublishedTable:
    model: str  # the dbt model; its relation comes from the manifest (``relation``)
    partition_columns: tuple[str, ...]
    relation: str = ""

    def partition_path(self, values: tuple[object, ...]) -> str:
        """A partition's folder, e.g. ``year=2026/month=11/day=1/hour=5``."""
        return "/".join(f"{c}={v}" for c, v in zip(self.partition_columns, values, strict=True))


# The facts the lake serves, by dbt model name; where each lives comes from dbt's manifest.
CURATED_TABLES = (
    PublishedTable("fct_temperature_readings", ("event_date",)),
    PublishedTable("fct_traffic_measurements", ("year", "month", "day", "hour")),
    PublishedTable("fct_seismic_events", ("event_date",)),
)


@dataclass(frozen=True)
class PublishReport:
    table: str
    partitions_written: int
    partitions_removed: int
    partitions_unchanged: int
    rows_written: int

    def describe(self) -> str:
        return (
            f"{self.table}: {self.partitions_written} partitions written,"
            f" {self.partitions_unchanged} unchanged, {self.partitions_removed} removed"
        )


@dataclass(frozen=True)
class _Partition:
    values: tuple[object, ...]
    version: str  # a fingerprint of the invocations that built its rows, and their count
    rows: int


def _partitions(con: duckdb.DuckDBPyConnection, table: PublishedTable) -> dict[str, _Partition]:
    """partition path -> its values and version, from one grouped scan of the table."""
    columns = ", ".join(table.partition_columns)
    found = con.execute(
        f"select {columns}, string_agg(distinct _dbt_invocation_id, ','"
        f" order by _dbt_invocation_id), count(*) from {table.relation} group by all"
    ).fetchall()
    partitions = {}
    for *values, invocations, rows in found:
        key = tuple(values)
        if None in key:
            raise ValueError(
                f"{table.relation} has {rows:,} rows with a null partition column"
                f" ({', '.join(table.partition_columns)}); fix the model (its not_null tests"
                " say which), then publish again"
            )
        partitions[table.partition_path(key)] = _Partition(key, f"{invocations}:{rows}", rows)
    return partitions


def _stage_changed_rows(
    con: duckdb.DuckDBPyConnection, table: PublishedTable, changed: list[_Partition]
) -> dict[tuple[object, ...], tuple[int, int]]:
    """Copy the changed partitions' rows into a temporary table, sorted by partition then by
    every column (the order of the files); partition values -> its (first, last) rowid."""
    columns = table.partition_columns
    names = ", ".join(columns)
    every = [name for name, *_ in con.execute(f"describe {table.relation}").fetchall()]
    order = ", ".join(f'"{c}"' for c in [*columns, *(c for c in every if c not in columns)])
    keys = ", ".join("(" + ", ".join("?" for _ in columns) + ")" for _ in changed)
    con.execute("drop table if exists temp.publish_rows")
    con.execute(
        f"create temp table publish_rows as select * from {table.relation}"
        f" semi join (values {keys}) as changed({names}) using ({names}) order by {order}",
        [value for part in changed for value in part.values],
    )
    ranges = con.execute(
        f"select {names}, min(rowid), max(rowid) from temp.publish_rows group by all"
    ).fetchall()
    return {tuple(first_values): (low, high) for *first_values, low, high in ranges}


def publish_table(
    con: duckdb.DuckDBPyConnection, table: PublishedTable, curated_root: Path
) -> PublishReport:
    name = table.model
    target = curated_root / name
    # Staged beside the zone, not in it (no curated/**/*.parquet glob sees a half-written file);
    # whatever a killed publish left there goes now.
    staging = staging_root_for(curated_root)
    clean_staging(staging)
    clean_staging(curated_root / STAGING_DIR)  # the layout before: inside the zone
    manifest_path = target / MANIFEST
    published: dict[str, str] = (
        json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    )
    current = _partitions(con, table)
    changed = {
        path: part
        for path, part in sorted(current.items())
        if published.get(path) != part.version or not (target / path / FILE_NAME).exists()
    }
    ranges = _stage_changed_rows(con, table, list(changed.values())) if changed else {}
    for path, part in changed.items():
        low, high = ranges[part.values]
        final = target / path / FILE_NAME
        staging.mkdir(parents=True, exist_ok=True)
        tmp = staging_file(staging)
        try:
            con.execute(
                f"copy (select * exclude ({', '.join(table.partition_columns)})"
                f" from temp.publish_rows where rowid between {low} and {high})"
                f" to '{tmp}' (format parquet, compression zstd)"
            )
            final.parent.mkdir(parents=True, exist_ok=True)
            crash_point("before-rename")
            tmp.replace(final)
        finally:
            tmp.unlink(missing_ok=True)
        crash_point("partition-published")
        published[path] = part.version
    con.execute("drop table if exists temp.publish_rows")
    removed = 0
    for path in sorted(set(published) - set(current)):
        shutil.rmtree(target / path, ignore_errors=True)
        del published[path]
        removed += 1
    atomic_write_bytes(
        manifest_path,
        json.dumps(published, indent=1, sort_keys=True).encode(),
        staging_root=staging,
    )
    rows = sum(part.rows for part in changed.values())
    return PublishReport(name, len(changed), removed, len(current) - len(changed), rows)


def publish_curated(
    paths: LakePaths,
    tables: tuple[PublishedTable, ...] = CURATED_TABLES,
    relations: Relations | None = None,
) -> list[PublishReport]:
    relations = relations or Relations.from_manifest()
    located = [replace(t, relation=t.relation or relations.model(t.model)) for t in tables]
    with duckdb.connect(str(paths.duckdb_file), read_only=True) as con:
        return [publish_table(con, table, paths.curated) for table in located]
