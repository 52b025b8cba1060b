"""Every model compiles for Athena and Redshift offline, in both incremental branches, with the
engine's own SQL coming from the dispatched macros."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cloud_sql import dbt

from orchestration.dbt_runner import ensure_profiles

PROJECT = Path(__file__).resolve().parents[2]
# Every model of the project, so a new one cannot skip the cloud compile.
MODELS = tuple(
    str(path.relative_to(PROJECT / "models").with_suffix(""))
    for path in sorted((PROJECT / "models").rglob("*.sql"))
)
# The local runner's run records: on AWS the execution history of the state machine is the
# run history, so the model and its source are disabled there (dbt_project.yml).
LOCAL_ONLY = {"staging/orchestration/stg_orchestration__pipeline_runs"}
RAW_FEEDS = sorted(
    set(
        re.findall(
            r"raw_feed: (\w+)",
            "".join(
                path.read_text()
                for path in (PROJECT / "models" / "staging").rglob("_*__sources.yml")
            ),
        )
    )
)
# The seismic flatten and UTM SQL per engine (no hyperbolic function anywhere: Redshift has none).
SEISMIC_MARKERS = {
    "athena": (
        "cross join unnest(",
        "as array(json))",
        "with ordinality as flattened (element, element_index)",
        "from_iso8601_timestamp(",
    ),
    "redshift": (
        'collections.doc."features" as element at element_position',
        'is_array(collections.doc."features")',
        'json_typeof(record."geometry"."coordinates"[1])',
    ),
}
# What each engine's dispatched macros must put in the staging SQL.
DIALECT_MARKERS = {
    "athena": ("try(json_parse(line))", "json_extract_scalar(", "date_parse("),
    "redshift": ("can_json_parse(line)", "json_typeof(", "mod(cast(substr("),
}


# compiled_project: tests/engines/conftest.py (one compile per engine and mode for the module
# and the cloud SQL gate).


@pytest.fixture(scope="module", params=["athena", "redshift"])
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.mark.parametrize("mode", ["full", "incremental"])
def test_every_model_compiles(engine: str, mode: str, compiled_project) -> None:
    compiled = compiled_project(engine, mode) / "compiled" / "eventlake" / "models"
    for model in MODELS:
        if model in LOCAL_ONLY:  # disabled on the cloud engines: nothing compiled for it
            assert not (compiled / f"{model}.sql").exists(), model
            continue
        sql = (compiled / f"{model}.sql").read_text()
        assert "select" in sql.lower(), model
    staging = (compiled / "staging/sensor_firehose/stg_sensor_firehose__readings.sql").read_text()
    for marker in DIALECT_MARKERS[engine]:
        assert marker in staging, f"{engine} staging lacks {marker}"
    for other in DIALECT_MARKERS.keys() - {engine}:
        assert DIALECT_MARKERS[other][0] not in staging
    fact = (compiled / "marts/temperature/fct_temperature_readings.sql").read_text()
    if mode == "incremental":
        assert "event_date in (" in fact and "source_file in (" in staging
        if engine == "athena":  # new objects' processing hours prune the projected partitions
            assert "landed_hour in ('2000/01/01/00')" in staging
    else:
        assert "event_date in (" not in fact and "source_file in (" not in staging


def test_fact_layout_per_engine(engine: str, compiled_project) -> None:
    manifest = json.loads((compiled_project(engine, "incremental") / "manifest.json").read_text())
    config = manifest["nodes"]["model.eventlake.fct_temperature_readings"]["config"]
    if engine == "athena":
        assert config["incremental_strategy"] == "insert_overwrite"
        assert config["partitioned_by"] == ["event_date"]
        assert config["partitions_limit"] == 100
        assert "dist" not in config
    else:
        assert config["incremental_strategy"] == "delete+insert"
        assert config["unique_key"] == "event_date"
        assert config["dist"] == "room_id"
        assert "partitioned_by" not in config


@pytest.mark.parametrize("mode", ["full", "incremental"])
def test_seismic_models_use_the_engines_own_sql(engine: str, mode: str, compiled_project) -> None:
    compiled = compiled_project(engine, mode) / "compiled" / "eventlake" / "models"
    staging = (compiled / "staging/seismic/stg_seismic__features.sql").read_text()
    for marker in SEISMIC_MARKERS[engine]:
        assert marker in staging, f"{engine} seismic staging lacks {marker}"
    assert "from_json(" not in staging  # DuckDB's parser stays on DuckDB
    utm = (compiled / "intermediate/seismic/int_seismic_events_projected_to_utm.sql").read_text()
    utm = re.sub(r"--[^\n]*", "", utm)  # comments may name the functions they replace
    assert "atan2(" in utm and "exp(" in utm and "ln(" in utm
    for missing in ("sinh(", "cosh(", "tanh(", "atanh(", "asinh("):
        assert missing not in utm, f"{missing} does not exist on every engine"
    fact = (compiled / "marts/seismic/fct_seismic_events.sql").read_text()
    assert ("event_date in (" in fact) == (mode == "incremental")


def test_seismic_marts_layout_per_engine(engine: str, compiled_project) -> None:
    manifest = json.loads((compiled_project(engine, "incremental") / "manifest.json").read_text())
    fact = manifest["nodes"]["model.eventlake.fct_seismic_events"]["config"]
    zones = manifest["nodes"]["model.eventlake.agg_seismic_utm_zones"]["config"]
    assert zones["materialized"] == "table"
    if engine == "athena":
        assert fact["incremental_strategy"] == "insert_overwrite"
        assert fact["partitioned_by"] == ["event_date"]
        assert "dist" not in fact and "dist" not in zones
        assert fact.get("format", "parquet") == "parquet"  # dbt-athena's default table format
    else:
        assert fact["incremental_strategy"] == "delete+insert"
        assert (fact["dist"], fact["sort"]) == ("event_id", ["event_date", "event_at"])
        assert (zones["dist"], zones["sort"]) == ("all", ["utm_zone", "utm_band"])
        assert "partitioned_by" not in fact


def test_external_table_ddl_renders_offline(engine: str, tmp_path: Path) -> None:
    completed = dbt(
        [
            "compile",
            "--inline",
            "{{ eventlake.external_tables_ddl() }}",
            "--target",
            engine,
            "--no-populate-cache",
            "--target-path",
            str(tmp_path),
        ],
        ensure_profiles(),
    )
    ddl = completed.stdout
    assert {"sensor_readings", "traffic_measurements", "seismic_events"} <= set(RAW_FEEDS)
    for feed in RAW_FEEDS:
        assert f"s3://example-lake/raw/{feed}/" in ddl
        assert f'create or replace view "raw"."{feed}" as' in ddl
        created = 'create schema if not exists "raw"', "create database if not exists `raw`"
        assert any(statement in ddl for statement in created)
    if engine == "athena":
        assert ddl.count("'projection.enabled' = 'true'") == len(RAW_FEEDS)
        assert (
            "'storage.location.template' = 's3://example-lake/raw/sensor_readings/${landed_hour}/'"
            in ddl
        )
    else:
        assert "create external schema if not exists eventlake_spectrum" in ddl
        # and the ML scores and the device registry's two files (rooms, traffic detectors)
        assert ddl.count("with no schema binding") == len(RAW_FEEDS) + 3
    # The device registry: its CSV beside the raw zone, header skipped, typed in a view.
    assert "location 's3://example-lake/registry/rooms/'" in ddl
    assert "'skip.header.line.count' = '1'" in ddl
    assert re.search(r'create or replace view "registry"\."rooms_file" as', ddl)
    assert "location 's3://example-lake/registry/traffic_locations/'" in ddl
    assert re.search(r'create or replace view "registry"\."traffic_locations_file" as', ddl)
    # each file's own columns, the id first
    assert re.search(r"traffic_locations_file\w*`? \(\s*`?location_id`? (string|varchar)", ddl)
    # The ML zone's scores: Parquet, partitioned like the lake folders the scorer writes.
    assert "location 's3://example-lake/ml/anomaly_scores/'" in ddl
    assert "stored as parquet" in ddl
    partitions = re.split(r"anomaly_scores`? \(", ddl, maxsplit=1)[1].split("stored as parquet", 1)[
        0
    ]
    assert "room_id" in partitions.split("partitioned by", 1)[1]
    assert "reading_date date" in partitions.split("partitioned by", 1)[1]


TRAFFIC_HOURLY = (
    "int_traffic_measurements_windowed",
    "fct_traffic_measurements",
    "agg_traffic_segment_minutes",
)


# The slices Redshift's delete+insert replaces: one detector's (or segment's) hour, so late data
# leaves the hour's other detectors alone. Athena's insert_overwrite can only replace hours.
TRAFFIC_SLICE_KEYS = {
    "int_traffic_measurements_windowed": ["location_id", "measured_hour"],
    "fct_traffic_measurements": ["location_id", "measured_hour"],
    "agg_traffic_segment_minutes": ["segment_id", "measured_hour"],
}


def test_traffic_models_rewrite_measurement_hours(engine: str, compiled_project) -> None:
    """Athena: insert_overwrite of year/month/day/hour partitions, batched past 100 by
    dbt-athena; Redshift: delete+insert of (detector or segment, hour) slices, with dist and
    sort keys."""
    target = compiled_project(engine, "incremental")
    manifest = json.loads((target / "manifest.json").read_text())
    for model in TRAFFIC_HOURLY:
        config = manifest["nodes"][f"model.eventlake.{model}"]["config"]
        if engine == "athena":
            assert config["incremental_strategy"] == "insert_overwrite"
            assert config["partitioned_by"] == ["year", "month", "day", "hour"]
            assert config["partitions_limit"] == 100
            assert config["unique_key"] == "measured_hour"
        else:
            assert config["incremental_strategy"] == "delete+insert"
            assert config["unique_key"] == TRAFFIC_SLICE_KEYS[model]
            assert config["dist"] and config["sort"]
            assert "partitioned_by" not in config
    compiled = target / "compiled" / "eventlake" / "models"
    fact = (compiled / "marts/traffic/fct_traffic_measurements.sql").read_text()
    # the offline sample hour is rebuilt; windows read back the hours they reach into
    assert "measured_hour in (cast('2000-01-01 00:00:00' as timestamp))" in fact
    windows = (compiled / "intermediate/traffic/int_traffic_measurements_windowed.sql").read_text()
    assert "cast('1999-12-31 20:00:00' as timestamp)" in windows
    segments = (compiled / "marts/traffic/agg_traffic_segment_minutes.sql").read_text()
    # Athena reads and writes every detector of the hours; Redshift only the slices
    by_slice = engine != "athena"
    assert ("inner join traffic_slices_to_rebuild" in windows) is by_slice
    assert ("inner join slices_to_read" in windows) is by_slice
    assert ("inner join slices_to_rebuild" in segments) is by_slice
    if engine == "athena":  # Trino has RANGE frames with interval offsets
        assert "range between interval '19' minute preceding and current row" in windows
        assert (
            "from_unixtime("
            in (
                compiled / "staging/traffic_firehose/stg_traffic_firehose__measurements.sql"
            ).read_text()
        )
    else:  # Redshift has ROWS frames only: a bounded self-join gives the same averages
        assert "range between" not in windows
        assert "dateadd(minute, -19, anchor.measured_at)" in windows
        assert (
            "convert_timezone('UTC', 'Europe/Brussels'"
            in (
                compiled / "staging/traffic_firehose/stg_traffic_firehose__measurements.sql"
            ).read_text()
        )


def test_anomaly_marts_layout_per_engine(engine: str, compiled_project) -> None:
    manifest = json.loads((compiled_project(engine, "full") / "manifest.json").read_text())
    config = manifest["nodes"]["model.eventlake.fct_temperature_anomalies"]["config"]
    assert config["materialized"] == "table"
    assert config["contract"]["enforced"]
    if engine == "athena":
        assert config["partitioned_by"] == ["reading_date"]
        assert "dist" not in config
    else:
        assert config["dist"] == "room_id"
        assert config["sort"] == ["room_id", "reading_at"]
        assert "partitioned_by" not in config
    staging = manifest["nodes"]["model.eventlake.stg_ml_scores__anomaly_scores"]["config"]
    assert staging["materialized"] == "view"  # re-scoring replaces partitions: never append
