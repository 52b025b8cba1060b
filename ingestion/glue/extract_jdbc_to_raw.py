"""AWS Glue job: extract the historical temperatures table into the raw zone as payload NDJSON.

The AWS counterpart of :mod:`ingestion.history.database` (the seed's "custom job" reading SQL
Server on EC2 through a Glue JDBC connection). Job parameters::

    --JOB_NAME             set by Glue
    --target_path          s3://<raw bucket>/sensor_db_extract   (the feed's prefix)
    and either
    --source_database      Glue catalog database (made by the crawler), e.g. raw_temperatures
    --source_table         its table, e.g. temperatures
    or
    --connection_name      a Glue JDBC connection
    --dbtable              the table, e.g. dbo.temperatures
    optional
    --timestamp_column / --room_id_column / --temperature_column   (default: measured_at, room_id,
                           temp: the shared ColumnMapping used by the local extractor)
    --bookmark_keys        comma list, default updated_at,id (only read when job bookmarks are
                           enabled: --job-bookmark-option job-bookmark-enable)

Rows pass through ``ApplyMapping`` (names and types from the shared ``ColumnMapping``, no casts)
and then the shared ``to_payload`` per row in ``mapPartitions``, so a value the SQL layer must
quarantine reaches it unchanged. Output: gzip NDJSON under
``<target_path>/YYYY/MM/DD/HH/`` (the ingest, i.e. job start, time in UTC), the raw zone's
partition layout. Object names are Spark's ``part-*`` names, not Firehose's, so models must take
``landed_at`` from the prefix for this feed.

Deploy: ship ``ingestion/__init__.py``, ``ingestion/history/__init__.py`` and
``ingestion/history/transforms.py`` as a zip with ``--extra-py-files`` (they need only the
standard library); awsglue/pyspark are imported inside :func:`main` so this module imports anywhere.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from ingestion.history.transforms import DB_MAPPING, ColumnMapping, to_payload

REQUIRED_ARGS = ("JOB_NAME", "target_path")
CATALOG_ARGS = ("source_database", "source_table")
JDBC_ARGS = ("connection_name", "dbtable")
OPTIONAL_ARGS = ("timestamp_column", "room_id_column", "temperature_column", "bookmark_keys")
DEFAULT_BOOKMARK_KEYS = ("updated_at", "id")


def build_mappings(mapping: ColumnMapping = DB_MAPPING) -> list[tuple[str, str, str, str]]:
    """``ApplyMapping`` tuples: each source column kept under its own name and type (no casts)."""
    return [(column, kind, column, kind) for _field, column, kind in mapping.pairs()]


def resolved_arg_names(argv: Sequence[str]) -> list[str]:
    """The names to pass to ``getResolvedOptions``: it fails on any name absent from argv."""
    present = {arg[2:].split("=", 1)[0] for arg in argv if arg.startswith("--")}
    has_catalog = all(name in present for name in CATALOG_ARGS)
    has_jdbc = all(name in present for name in JDBC_ARGS)
    if has_catalog == has_jdbc:
        raise ValueError(
            "pass either --source_database and --source_table (Glue catalog) or "
            "--connection_name and --dbtable (JDBC connection), not both and not neither"
        )
    chosen = CATALOG_ARGS if has_catalog else JDBC_ARGS
    return [*REQUIRED_ARGS, *chosen, *(name for name in OPTIONAL_ARGS if name in present)]


def mapping_from_args(args: dict[str, str]) -> ColumnMapping:
    """The shared mapping, with any column renamed by job arguments."""
    return ColumnMapping(
        timestamp=args.get("timestamp_column", DB_MAPPING.timestamp),
        room_id=args.get("room_id_column", DB_MAPPING.room_id),
        temperature=args.get("temperature_column", DB_MAPPING.temperature),
        timestamp_type=DB_MAPPING.timestamp_type,
        room_id_type=DB_MAPPING.room_id_type,
        temperature_type=DB_MAPPING.temperature_type,
    )


def target_prefix(target_path: str, ingest_time: datetime) -> str:
    """``<target>/YYYY/MM/DD/HH/``: the raw zone partition of this run's processing time."""
    if not target_path.startswith("s3://"):
        raise ValueError(f"target_path must be an s3:// URI, not {target_path!r}")
    if ingest_time.tzinfo is None:
        raise ValueError("ingest_time must be timezone-aware")
    return f"{target_path.rstrip('/')}/{ingest_time.astimezone(UTC):%Y/%m/%d/%H}/"


def payload_lines(rows: Iterable[Any], mapping: ColumnMapping) -> Iterator[str]:
    """One JSON line per row (Spark ``Row`` or mapping), via the shared ``to_payload``."""
    for row in rows:
        record = row.asDict() if hasattr(row, "asDict") else row
        yield json.dumps(to_payload(record, mapping), separators=(",", ":"), ensure_ascii=False)


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - runs on AWS Glue only
    from awsglue.context import GlueContext
    from awsglue.job import Job
    from awsglue.transforms import ApplyMapping
    from awsglue.utils import getResolvedOptions
    from pyspark.context import SparkContext

    argv = list(sys.argv if argv is None else argv)
    args = getResolvedOptions(argv, resolved_arg_names(argv))
    mapping = mapping_from_args(args)
    bookmark_keys = [
        key.strip() for key in args.get("bookmark_keys", ",".join(DEFAULT_BOOKMARK_KEYS)).split(",")
    ]

    sc = SparkContext.getOrCreate()
    glue_context = GlueContext(sc)
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)

    bookmark_options = {"jobBookmarkKeys": bookmark_keys, "jobBookmarkKeysSortOrder": "asc"}
    if "source_database" in args:
        frame = glue_context.create_dynamic_frame.from_catalog(
            database=args["source_database"],
            table_name=args["source_table"],
            additional_options=bookmark_options,
            transformation_ctx="source_temperatures",
        )
    else:
        frame = glue_context.create_dynamic_frame.from_options(
            connection_type="sqlserver",
            connection_options={
                "useConnectionProperties": "true",
                "connectionName": args["connection_name"],
                "dbtable": args["dbtable"],
                **bookmark_options,
            },
            transformation_ctx="source_temperatures",
        )

    mapped = ApplyMapping.apply(
        frame=frame, mappings=build_mappings(mapping), transformation_ctx="apply_mapping"
    )
    lines = mapped.toDF().rdd.mapPartitions(lambda rows: payload_lines(rows, mapping))
    prefix = target_prefix(args["target_path"], datetime.now(UTC))
    if not lines.isEmpty():
        glue_context.spark_session.createDataFrame(
            lines.map(lambda line: (line,)), ["value"]
        ).write.mode("append").option("compression", "gzip").text(prefix)
    job.commit()


if __name__ == "__main__":  # pragma: no cover
    main()
