"""Publish partitioned facts from the DuckDB warehouse file to the lake's curated zone.

The curated zone holds the files Athena would read from S3: Hive-partitioned Parquet,
``curated/<table>/<column>=<value>[/<column>=<value>...]/part-0.parquet``. Only partitions whose
rows were rebuilt since the last publish are rewritten (dbt stamps each row with the invocation
that built it); partitions that disappeared are removed. Each file is written in
``<lake>/.staging/curated`` (outside the zone) and renamed into place, so a reader never sees a
half-written partition, a crash leaves the previous file intact, and the next publish removes
what the crash left in staging and rewrites what the manifest does not record yet.
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


@dataclass(frozen=True)
class PublishedTable:
    model: str  # the dbt model; its relation comes from the manifest (``relation``)
    partition_columns: tuple[str, ...]
    relation: str = ""

    @property
    def partition_path(self) -> str:
        """SQL for a row's partition folder, e.g. ``year=2026/month=11/day=1/hour=5``."""
        parts = [f"'{column}=' || cast({column} as varchar)" for column in self.partition_columns]
        return " || '/' || ".join(parts)


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


def _partition_versions(con: duckdb.DuckDBPyConnection, table: PublishedTable) -> dict[str, str]:
    """partition path -> a fingerprint of the invocations that built its rows."""
    rows = con.execute(
        f"select {table.partition_path} as part,"
        f" string_agg(distinct _dbt_invocation_id, ',' order by _dbt_invocation_id) || ':' ||"
        f" count(*) as version from {table.relation} group by 1"
    ).fetchall()
    return {part: version for part, version in rows}


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
    current = _partition_versions(con, table)
    written = rows = 0
    for part, version in sorted(current.items()):
        final = target / part / "part-0.parquet"
        if published.get(part) == version and final.exists():
            continue
        staging.mkdir(parents=True, exist_ok=True)
        tmp = staging_file(staging)
        try:
            con.execute(
                f"copy (select * exclude ({', '.join(table.partition_columns)})"
                f" from {table.relation} where {table.partition_path} = ? order by all)"
                f" to '{tmp}' (format parquet, compression zstd)",
                [part],
            )
            final.parent.mkdir(parents=True, exist_ok=True)
            crash_point("before-rename")
            tmp.replace(final)
        finally:
            tmp.unlink(missing_ok=True)
        crash_point("partition-published")
        published[part] = version
        written += 1
        rows += con.execute(
            f"select count(*) from {table.relation} where {table.partition_path} = ?",
            [part],
        ).fetchone()[0]
    removed = 0
    for part in sorted(set(published) - set(current)):
        shutil.rmtree(target / part, ignore_errors=True)
        del published[part]
        removed += 1
    atomic_write_bytes(
        manifest_path,
        json.dumps(published, indent=1, sort_keys=True).encode(),
        staging_root=staging,
    )
    return PublishReport(name, written, removed, len(current) - written, rows)


def publish_curated(
    paths: LakePaths,
    tables: tuple[PublishedTable, ...] = CURATED_TABLES,
    relations: Relations | None = None,
) -> list[PublishReport]:
    relations = relations or Relations.from_manifest()
    located = [replace(t, relation=t.relation or relations.model(t.model)) for t in tables]
    with duckdb.connect(str(paths.duckdb_file), read_only=True) as con:
        return [publish_table(con, table, paths.curated) for table in located]
