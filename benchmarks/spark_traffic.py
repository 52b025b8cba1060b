"""The PySpark peer of the traffic models: the same transform as a local Spark job (issue 13).

Reads the landed NDJSON objects of ``<data>/lake/raw/traffic_measurements/``, parses and checks
each line as stg_traffic_firehose__measurements does (same rules, same order, same reasons),
keeps the first landing of each (location, minute) as int_traffic_measurements_deduplicated
does, computes the windows and indicators of int_traffic_measurements_windowed, joins the
registered detectors (fct_traffic_measurements) and aggregates per segment and minute
(agg_traffic_segment_minutes). Both outputs are written as Parquet partitioned by
year/month/day/hour, one file per hour sorted like the curated fact.

Spark runs as a benchmark peer would: ``local[2]``, no UI, no network beyond the loopback,
built-in functions only (no Python UDF, which would slow Spark down for no reason). Spark 4's
VARIANT parser reads each line once; ``schema_of_variant`` tells a JSON number from a string,
as DuckDB's json_type does. ``run_spark_traffic`` times the whole job, the session's start and
stop included (our `dbt run` is timed with its process start).

What it does not reproduce, none of which the simulated feed produces: the raw reader's
read_error reasons (Spark's text reader decodes bad UTF-8 as U+FFFD, splits on a lone CR too and
fails on a corrupt .gz instead of quarantining the object), and the registry file in
``<data>/registry/`` (the job refuses to run when there is one: it reads the seed only).

Usage: ``.venv/bin/python benchmarks/spark_traffic.py --data-dir DIR [--check]`` (``make
benchmark-spark``). ``--check`` compares the outputs with the DuckDB warehouse's
fct_traffic_measurements and agg_traffic_segment_minutes (run ``dbt run`` on the same lake
first) and the accepted/rejected split per reason with the staging model's.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingestion.settings import PROJECT_ROOT, LakePaths, lake_paths

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

FEED = "traffic_measurements"
FEED_KEY = "traffic_firehose"
# dbt_project.yml's vars, as the models read them
MAX_VALID_SPEED = 250
MAX_VEHICLE_COUNT = 10000
NO_DATA_CODES = (252, 254, 255)
JAM_MAX_SPEED = 40
MAX_GAP_MINUTES = 10
MAX_CLOCK_SKEW_MINUTES = 5
LOCAL_ZONE = "Europe/Brussels"
MAX_LINE_BYTES = 2097152
CLASSES = (2, 3, 4, 5)
SPEED_KEYS = tuple(f"voertuigsnelheid_rekenkundig_klasse{c}" for c in CLASSES)
COUNT_KEYS = tuple(f"verkeersintensiteit_klasse{c}" for c in CLASSES)
OCCUPANCY_KEY = "rekendata_bezettingsgraad"
KEYS = ("unieke_id", "tijd_waarneming", OCCUPANCY_KEY, *SPEED_KEYS, *COUNT_KEYS)
ALIASES = {"unieke_id": "location_number", "tijd_waarneming": "measured_epoch"}
NUMBER_TYPES = ("TINYINT", "SMALLINT", "INT", "BIGINT", "FLOAT", "DOUBLE")
MAX_ID = 9007199254740991  # 2^53 - 1: above it a double no longer holds every whole number
FACT = "fct_traffic_measurements"
AGGREGATE = "agg_traffic_segment_minutes"
PARTITIONS = ("year", "month", "day", "hour")
# the business columns the check compares (bookkeeping columns differ by design, see check())
FACT_COLUMNS = (
    "measurement_id",
    "location_id",
    "segment_id",
    "road",
    "direction",
    "lane",
    "measured_at",
    "measured_at_local",
    "measured_hour",
    "speed_class2_kmh",
    "previous_speed_kmh",
    "speed_diff_indicator",
    "avg_speed_last_3_kmh",
    "avg_speed_last_20_kmh",
    "avg_speed_3_minutes_kmh",
    "avg_speed_20_minutes_kmh",
    "traffic_jam_indicator",
    "traffic_jam_indicator_long",
    "speed_class2_no_data_code",
    "speed_class3_kmh",
    "speed_class3_no_data_code",
    "speed_class4_kmh",
    "speed_class4_no_data_code",
    "speed_class5_kmh",
    "speed_class5_no_data_code",
    "vehicles_class2",
    "vehicles_class3",
    "vehicles_class4",
    "vehicles_class5",
    "occupancy_pct",
    "is_occupancy_unknown",
    "claim_count",
    "measurement_line_id",
    "landed_at",
    *PARTITIONS,
)
AGGREGATE_COLUMNS = (
    "segment_minute_id",
    "segment_id",
    "road",
    "direction",
    "measured_minute",
    "measured_hour",
    "lanes_reporting",
    "lanes_with_speed",
    "avg_speed_kmh",
    "min_speed_kmh",
    "vehicles",
    "avg_occupancy_pct",
    "lanes_in_jam",
    "segment_jam_indicator",
    *PARTITIONS,
)


@dataclass(frozen=True)
class SparkTrafficRun:
    """One run of the job: wall seconds (session start and stop included) and its outputs."""

    seconds: float
    fact: Path  # Parquet, partitioned year=/month=/day=/hour=
    aggregate: Path


def spark_session() -> SparkSession:
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("eventlake-traffic-peer")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        # 2 cores: a few shuffle partitions, not the cluster default of 200
        .config("spark.sql.shuffle.partitions", "8")
        # a repeated key is quarantined as duplicate_key (found from the key list), not invalid
        .config("spark.sql.variant.allowDuplicateKeys", "true")
        .getOrCreate()
    )
    # a glob is first looked up as a literal path: Spark logs that miss with a stack trace
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _jam_indicator(speed: Column) -> Column:
    """macros/traffic.sql: traffic_jam_indicator."""
    from pyspark.sql import functions as F

    return (
        F.when((speed >= 0) & (speed <= JAM_MAX_SPEED), 1)
        .when((speed > JAM_MAX_SPEED) & (speed <= MAX_VALID_SPEED), 0)
        .otherwise(-1)
    )


def staged_lines(spark: SparkSession, paths: LakePaths) -> DataFrame:
    """stg_traffic_firehose__measurements: every landed line, parsed, checked and typed."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    lines = (
        spark.read.text(f"{paths.raw}/{FEED}/*/*/*/*/*")
        .select(
            F.col("value").alias("line"),
            # the lake key: raw/<feed>/YYYY/MM/DD/HH/<name> (eventlake.duckdb_lake_key)
            F.concat(
                F.lit("raw/"),
                F.regexp_extract("_metadata.file_path", r"[^/]+/[^/]+/[^/]+/[^/]+/[^/]+/[^/]+$", 0),
            ).alias("source_file"),
        )
        .withColumn(
            "landed_at",
            F.coalesce(
                F.try_to_timestamp(
                    F.regexp_extract(
                        "source_file", r"-(\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})-[^/]*$", 1
                    ),
                    F.lit("yyyy-MM-dd-HH-mm-ss"),
                ),
                F.try_to_timestamp(
                    F.regexp_extract("source_file", r"/(\d{4}/\d{2}/\d{2}/\d{2})/[^/]*$", 1),
                    F.lit("yyyy/MM/dd/HH"),
                ),
            ).cast("timestamp_ntz"),
        )
        # the raw reader: an empty line is null, a line over the limit is dropped with a reason
        .withColumn(
            "read_error", F.when(F.octet_length("line") > MAX_LINE_BYTES, F.lit("line_too_long"))
        )
        .withColumn(
            "line",
            F.when((F.col("line") == "") | F.col("read_error").isNotNull(), None).otherwise(
                F.col("line")
            ),
        )
    )
    parsed = lines.withColumn("doc", F.expr("try_parse_json(line)")).withColumn(
        "is_json_object", F.col("doc").isNotNull() & F.ltrim("line").startswith("{")
    )
    # one withColumns per step: a withColumn per field re-analyses the growing plan each time
    # (13 s of planning on a small lake, measured)
    names = [ALIASES.get(k, k) for k in KEYS]
    parsed = parsed.withColumns(
        {
            f"kind_{name}": F.expr(f"schema_of_variant(variant_get(doc, '$.{key}'))")
            for key, name in zip(KEYS, names, strict=True)
        }
    )
    fields = {}
    for key, name in zip(KEYS, names, strict=True):
        kind = F.col(f"kind_{name}")
        fields[f"has_{name}"] = F.coalesce(kind != "VOID", F.lit(False))
        fields[name] = F.when(
            kind.isin(*NUMBER_TYPES) | kind.startswith("DECIMAL"),
            F.expr(f"try_variant_get(doc, '$.{key}', 'double')"),
        )
    parsed = parsed.withColumns(fields)
    blanked = F.regexp_replace("line", r'"(?:[^"\\]|\\.)*"', '""')
    json_violation = F.when(
        F.col("line").rlike(r"[:,\[]\s*([+NnIi]|-\s*[^0-9])|,\s*[}\]]"),
        F.when(blanked.rlike("(?i)nan|inf"), "non_finite_number")
        .when(blanked.rlike(r"[\[:,]\s*(\+|-\s*[^0-9])"), "number_with_bare_sign")
        .when(blanked.rlike(r",\s*[}\]]"), "trailing_comma"),
    )
    written_keys = (F.length("line") - F.length(F.regexp_replace("line", '":', ""))) / 2
    known_found = sum(F.col(f"has_{n}").cast("int") for n in names)
    keys = F.expr("json_object_keys(line)")
    duplicate_key = F.when(
        written_keys > known_found, F.size(keys) != F.size(F.array_distinct(keys))
    ).otherwise(False)
    non_finite = F.lit(False)
    for name in names:
        non_finite = non_finite | ~F.coalesce(
            ~F.isnan(name) & (F.abs(name) != float("inf")), F.lit(True)
        )
    speeds = [F.col(ALIASES.get(k, k)) for k in SPEED_KEYS]
    counts = [F.col(k) for k in COUNT_KEYS]
    measurement_keys = (*SPEED_KEYS, *COUNT_KEYS, OCCUPANCY_KEY)
    any_missing = F.lit(False)
    any_not_numeric = F.lit(False)
    for key in measurement_keys:
        any_missing = any_missing | ~F.col(f"has_{key}")
        any_not_numeric = any_not_numeric | F.col(key).isNull()
    any_bad_speed = F.lit(False)
    for speed in speeds:
        any_bad_speed = any_bad_speed | (
            ~speed.between(0, MAX_VALID_SPEED) & ~speed.isin(*NO_DATA_CODES)
        )
    any_bad_count = F.lit(False)
    for count in counts:
        any_bad_count = any_bad_count | (
            (count < 0) | (count > MAX_VEHICLE_COUNT) | (count != F.floor(count))
        )
    epoch = F.col("measured_epoch")
    location = F.col("location_number")
    occupancy = F.col(OCCUPANCY_KEY)
    measured_ts = F.timestamp_seconds(epoch.cast("bigint")).cast("timestamp_ntz")
    registry = registered_locations(spark)
    located = parsed.join(
        F.broadcast(
            registry.select(
                F.col("location_id").alias("registered_location_id"),
                F.col("retired_at").alias("location_retired_at"),
            )
        ),
        F.when(location.between(1, MAX_ID), location).cast("bigint")
        == F.col("registered_location_id"),
        "left",
    )
    reason = (
        F.when(F.col("read_error").isNotNull(), F.col("read_error"))
        .when(
            ~F.col("is_json_object") & (F.col("line").isNull() | (F.trim("line") == "")),
            "empty_line",
        )
        .when(json_violation.isNotNull(), json_violation)
        .when(~F.col("is_json_object"), "invalid_json")
        .when(duplicate_key, "duplicate_key")
        .when(non_finite, "non_finite_number")
        .when(~F.col("has_location_number"), "missing_location_id")
        .when(
            location.isNull()
            | (location < 1)
            | (location > MAX_ID)
            | (location != F.floor(location)),
            "location_id_invalid",
        )
        .when(~F.col("has_measured_epoch"), "missing_measured_at")
        .when(
            epoch.isNull()
            | (epoch != F.floor(epoch))
            | (epoch < 946684800)
            | (epoch >= 4102444800),
            "measured_at_invalid",
        )
        .when(any_missing, "missing_measurement_field")
        .when(any_not_numeric, "measurement_not_numeric")
        .when(any_bad_speed, "speed_out_of_range")
        .when(any_bad_count, "vehicle_count_invalid")
        .when((occupancy != -1) & ~occupancy.between(0, 100), "occupancy_out_of_range")
        .when(
            measured_ts > F.col("landed_at") + F.expr(f"interval {MAX_CLOCK_SKEW_MINUTES} minutes"),
            "measured_at_in_future",
        )
        .when(F.col("registered_location_id").isNull(), "unknown_location")
        .when(measured_ts >= F.col("location_retired_at"), "device_retired")
    )
    checked = located.withColumn("rejection_reason", reason)
    accepted = F.col("rejection_reason").isNull()
    measured_at = F.when(accepted, measured_ts)
    columns = [
        F.when(accepted, location.cast("bigint")).alias("location_id"),
        measured_at.alias("measured_at"),
        F.from_utc_timestamp(measured_at, LOCAL_ZONE)
        .cast("timestamp_ntz")
        .alias("measured_at_local"),
        F.date_trunc("hour", measured_at).cast("timestamp_ntz").alias("measured_hour"),
    ]
    for c, key in zip(CLASSES, SPEED_KEYS, strict=True):
        speed = F.col(key)
        columns.append(
            F.when(accepted & ~speed.isin(*NO_DATA_CODES), speed).alias(f"speed_class{c}_kmh")
        )
        columns.append(
            F.when(accepted & speed.isin(*NO_DATA_CODES), speed.cast("int")).alias(
                f"speed_class{c}_no_data_code"
            )
        )
    for c, key in zip(CLASSES, COUNT_KEYS, strict=True):
        columns.append(F.when(accepted, F.col(key).cast("int")).alias(f"vehicles_class{c}"))
    columns += [
        F.when(accepted & (occupancy != -1), occupancy).alias("occupancy_pct"),
        F.when(accepted, occupancy == -1).alias("is_occupancy_unknown"),
        F.col("rejection_reason"),
        F.when(~accepted, F.col("line")).alias("raw_line"),
        F.col("line"),
        F.col("source_file"),
        F.col("landed_at"),
    ]
    staged = checked.select(*columns)
    # identical lines of an object are numbered 1, 2, ... (eventlake.number_identical_lines);
    # the line's key is the md5 of feed, object, text and that number (eventlake.raw_line_key)
    occurrence = F.row_number().over(
        Window.partitionBy("location_id", "source_file", "line").orderBy("source_file")
    )
    # by location: this window and every window downstream (each partitions by the location,
    # and more) share this one shuffle; identical lines share a location
    return (
        staged.repartition("location_id")
        .withColumn("line_occurrence", occurrence)
        .withColumn(
            "measurement_line_id",
            F.md5(
                F.concat_ws(
                    "|",
                    F.lit(FEED_KEY),
                    "source_file",
                    F.coalesce("line", F.lit("")),
                    F.col("line_occurrence").cast("string"),
                )
            ),
        )
    )


def registered_locations(spark: SparkSession) -> DataFrame:
    """The seed traffic_locations (what stg_device_registry__traffic_locations is without a
    registry file), with retired_at null."""
    with open(PROJECT_ROOT / "seeds" / "traffic_locations.csv", newline="") as f:
        rows = [
            (int(r["location_id"]), r["segment_id"], r["road"], r["direction"], int(r["lane"]))
            for r in csv.DictReader(f)
        ]
    return spark.createDataFrame(
        rows, "location_id bigint, segment_id string, road string, direction string, lane int"
    ).selectExpr("*", "cast(null as timestamp_ntz) as retired_at")


def traffic_fact(spark: SparkSession, paths: LakePaths) -> DataFrame:
    """int_traffic_measurements_deduplicated, _windowed and fct_traffic_measurements."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    staged = staged_lines(spark, paths)
    accepted = staged.where(F.col("rejection_reason").isNull())
    claims = Window.partitionBy("location_id", "measured_at")
    deduplicated = (
        accepted.withColumn(
            "claim_rank",
            F.row_number().over(
                claims.orderBy("landed_at", "source_file", "line_occurrence", "measurement_line_id")
            ),
        )
        .withColumn("claim_count", F.count(F.lit(1)).over(claims))
        .where(F.col("claim_rank") == 1)
        .withColumn(
            "measurement_id",
            F.md5(
                F.concat_ws(
                    "|", F.col("location_id").cast("string"), F.col("measured_at").cast("string")
                )
            ),
        )
    )
    by_time = Window.partitionBy("location_id").orderBy("measured_at")
    epoch = F.unix_seconds(F.col("measured_at").cast("timestamp"))
    runs = deduplicated.withColumn(
        "previous_measured_at", F.lag("measured_at").over(by_time)
    ).withColumn(
        "run_number",
        F.sum(
            F.when(
                F.col("previous_measured_at").isNull()
                | (
                    F.col("measured_at")
                    > F.col("previous_measured_at") + F.expr(f"interval {MAX_GAP_MINUTES} minutes")
                ),
                1,
            ).otherwise(0)
        ).over(by_time.rowsBetween(Window.unboundedPreceding, Window.currentRow)),
    )
    in_run = Window.partitionBy("location_id", "run_number").orderBy("measured_at")
    by_epoch = Window.partitionBy("location_id").orderBy(epoch)
    speed = F.col("speed_class2_kmh")
    windowed = (
        runs.withColumn("previous_speed_kmh", F.lag(speed).over(in_run))
        .withColumn("avg_speed_last_3_kmh", F.avg(speed).over(in_run.rowsBetween(-2, 0)))
        .withColumn("avg_speed_last_20_kmh", F.avg(speed).over(in_run.rowsBetween(-19, 0)))
        .withColumn("avg_speed_3_minutes_kmh", F.avg(speed).over(by_epoch.rangeBetween(-2 * 60, 0)))
        .withColumn(
            "avg_speed_20_minutes_kmh", F.avg(speed).over(by_epoch.rangeBetween(-19 * 60, 0))
        )
    )
    difference = speed - F.col("previous_speed_kmh")
    locations = registered_locations(spark).select(
        "location_id", "segment_id", "road", "direction", "lane"
    )
    return windowed.join(F.broadcast(locations), "location_id").select(
        "measurement_id",
        "location_id",
        "segment_id",
        "road",
        "direction",
        "lane",
        "measured_at",
        "measured_at_local",
        "measured_hour",
        "speed_class2_kmh",
        "previous_speed_kmh",
        F.when(difference >= 20, 1)
        .when(difference <= -20, -1)
        .otherwise(0)
        .alias("speed_diff_indicator"),
        "avg_speed_last_3_kmh",
        "avg_speed_last_20_kmh",
        "avg_speed_3_minutes_kmh",
        "avg_speed_20_minutes_kmh",
        _jam_indicator(F.col("avg_speed_last_3_kmh")).alias("traffic_jam_indicator"),
        _jam_indicator(F.col("avg_speed_last_20_kmh")).alias("traffic_jam_indicator_long"),
        "speed_class2_no_data_code",
        *[x for c in (3, 4, 5) for x in (f"speed_class{c}_kmh", f"speed_class{c}_no_data_code")],
        *[f"vehicles_class{c}" for c in CLASSES],
        "occupancy_pct",
        "is_occupancy_unknown",
        "claim_count",
        "measurement_line_id",
        "landed_at",
        F.year("measured_at").alias("year"),
        F.month("measured_at").alias("month"),
        F.dayofmonth("measured_at").alias("day"),
        F.hour("measured_at").alias("hour"),
    )


def segment_minutes(fact: DataFrame) -> DataFrame:
    """agg_traffic_segment_minutes from the fact."""
    from pyspark.sql import functions as F

    def exact_avg(column: str) -> Column:
        # eventlake.exact_avg: a decimal sum, so the mean does not depend on summation order
        total = F.sum(F.col(column).cast("decimal(38,10)")).cast("double")
        return F.round(total / F.when(F.count(column) != 0, F.count(column)), 6)

    measurements = fact.withColumn(
        "measured_minute", F.date_trunc("minute", "measured_at").cast("timestamp_ntz")
    ).withColumn("vehicles", sum(F.col(f"vehicles_class{c}") for c in CLASSES))
    segments = measurements.groupBy(
        "segment_id", "road", "direction", "measured_minute", "measured_hour", *PARTITIONS
    ).agg(
        F.count(F.lit(1)).alias("lanes_reporting"),
        F.count("speed_class2_kmh").alias("lanes_with_speed"),
        exact_avg("speed_class2_kmh").alias("avg_speed_kmh"),
        F.min("speed_class2_kmh").alias("min_speed_kmh"),
        F.sum("vehicles").cast("bigint").alias("vehicles"),
        exact_avg("occupancy_pct").alias("avg_occupancy_pct"),
        F.sum(F.when(F.col("traffic_jam_indicator") == 1, 1).otherwise(0))
        .cast("bigint")
        .alias("lanes_in_jam"),
        exact_avg("avg_speed_last_3_kmh").alias("avg_lane_speed_last_3_kmh"),
    )
    computed = {
        "segment_minute_id": F.md5(
            F.concat_ws("|", "segment_id", F.col("measured_minute").cast("string"))
        ),
        "segment_jam_indicator": _jam_indicator(F.col("avg_lane_speed_last_3_kmh")),
    }
    return segments.select(
        *(computed[c].alias(c) if c in computed else c for c in AGGREGATE_COLUMNS)
    )


def _write(frame: DataFrame, path: Path, order: tuple[str, ...]) -> None:
    """One Parquet file per hour partition, its rows in the curated fact's order."""
    (
        frame.repartition(*PARTITIONS)
        .sortWithinPartitions(*PARTITIONS, *order)
        .write.mode("overwrite")
        .partitionBy(*PARTITIONS)
        .parquet(str(path))
    )


def run_spark_traffic(paths: LakePaths, out_dir: Path | None = None) -> SparkTrafficRun:
    """Run the job on ``paths``' raw zone; outputs under ``out_dir`` (default
    ``<data>/spark_traffic``), replaced. Wall seconds include the Spark session's start and stop."""
    if (paths.data_dir / "registry" / "traffic_locations.csv").exists():
        raise RuntimeError(
            "the Spark peer reads the seed traffic_locations only; this lake has a registry file"
        )
    out = out_dir or paths.data_dir / "spark_traffic"
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    spark = spark_session()
    try:
        _write(traffic_fact(spark, paths), out / FACT, ("measured_at", "location_id"))
        # the aggregate reads the fact as written, as agg_traffic_segment_minutes reads the table
        _write(
            segment_minutes(spark.read.parquet(str(out / FACT))),
            out / AGGREGATE,
            ("measured_minute", "segment_id"),
        )
    finally:
        spark.stop()
    return SparkTrafficRun(time.perf_counter() - started, out / FACT, out / AGGREGATE)


def spark_rejections(paths: LakePaths) -> dict[str | None, int]:
    """Lines per rejection reason (None: accepted), as the Spark job stages them."""
    spark = spark_session()
    try:
        rows = staged_lines(spark, paths).groupBy("rejection_reason").count().collect()
    finally:
        spark.stop()
    return {row["rejection_reason"]: row["count"] for row in rows}


def _rounded(columns: tuple[str, ...], types: dict[str, str]) -> str:
    """Floats rounded to 1e-9 (a window's mean may differ in its last bits with the order in
    which an engine sums)."""
    return ", ".join(
        f"round({c}, 9) as {c}" if types[c] in ("DOUBLE", "FLOAT") else c for c in columns
    )


def compare(paths: LakePaths, run: SparkTrafficRun) -> dict[str, tuple[int, int, int]]:
    """Per output: (rows in DuckDB, rows only in DuckDB, rows only in Spark), EXCEPT ALL both
    ways on the business columns. Needs the warehouse built on the same lake."""
    import duckdb

    from orchestration.relations import Relations

    relations = Relations.from_manifest()
    found = {}
    with duckdb.connect(str(paths.duckdb_file), read_only=True) as con:
        for model, path, columns in (
            (FACT, run.fact, FACT_COLUMNS),
            (AGGREGATE, run.aggregate, AGGREGATE_COLUMNS),
        ):
            ours = relations.model(model)
            types = dict(
                con.execute(f"select column_name, column_type from (describe {ours})").fetchall()
            )
            theirs = f"read_parquet('{path}/*/*/*/*/*.parquet', hive_partitioning = true)"
            select = _rounded(columns, types)
            cast = ", ".join(f"cast({c} as {types[c]}) as {c}" for c in columns)
            spark_rows = f"(select {cast} from {theirs})"
            [(total,)] = con.execute(f"select count(*) from {ours}").fetchall()
            [(only_ours,)] = con.execute(
                f"select count(*) from (select {select} from {ours}"
                f" except all select {select} from {spark_rows})"
            ).fetchall()
            [(only_spark,)] = con.execute(
                f"select count(*) from (select {select} from {spark_rows}"
                f" except all select {select} from {ours})"
            ).fetchall()
            found[model] = (total, only_ours, only_spark)
    return found


def duckdb_rejections(paths: LakePaths) -> dict[str | None, int]:
    import duckdb

    from orchestration.relations import Relations

    staged = Relations.from_manifest().model("stg_traffic_firehose__measurements")
    with duckdb.connect(str(paths.duckdb_file), read_only=True) as con:
        return dict(
            con.execute(f"select rejection_reason, count(*) from {staged} group by 1").fetchall()
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("EVENTLAKE_DATA_DIR"))
    parser.add_argument("--out", type=Path, help="output folder (default <data>/spark_traffic)")
    parser.add_argument(
        "--check", action="store_true", help="compare with the DuckDB warehouse of the same lake"
    )
    args = parser.parse_args()
    paths = lake_paths(args.data_dir)
    run = run_spark_traffic(paths, args.out)
    print(f"PySpark local[2] traffic job: {run.seconds:.1f}s -> {run.fact}, {run.aggregate}")
    if args.check:
        ours, theirs = duckdb_rejections(paths), spark_rejections(paths)
        print(f"lines per rejection reason (None: accepted): duckdb {ours}, spark {theirs}")
        compared = compare(paths, run)
        for model, (total, only_ours, only_spark) in compared.items():
            print(f"{model}: {total} rows; only in DuckDB {only_ours}, only in Spark {only_spark}")
        if ours != theirs or any(a or b for _, a, b in compared.values()):
            raise SystemExit("the Spark outputs differ from ours")


if __name__ == "__main__":
    main()
