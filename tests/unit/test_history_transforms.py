"""The pure transforms shared by the local extractors and the Glue job."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from ingestion.glue.extract_jdbc_to_raw import (
    build_mappings,
    mapping_from_args,
    payload_lines,
    resolved_arg_names,
    target_prefix,
)
from ingestion.history import DB_MAPPING, DEFAULT_MAPPING, ColumnMapping, to_payload


def test_seed_columns_map_to_the_live_payload() -> None:
    row = {"timestamp": "2024-03-05 10:15:00", "room_id": "A101", "temp": "21.37", "extra": "x"}
    assert to_payload(row) == {
        "timestamp": "2024-03-05 10:15:00",
        "room_id": "A101",
        "temperature": 21.37,
    }


def test_defaults_follow_the_seed_apply_mapping() -> None:
    assert DEFAULT_MAPPING.source_columns == ("timestamp", "room_id", "temp")
    assert DB_MAPPING.source_columns == ("measured_at", "room_id", "temp")


def test_naive_datetime_is_formatted_as_is() -> None:
    row = {"timestamp": datetime(2024, 3, 5, 10, 15, 7, 999_999), "room_id": "A101", "temp": 20}
    assert to_payload(row)["timestamp"] == "2024-03-05 10:15:07"


def test_aware_datetime_is_converted_to_utc() -> None:
    cet = timezone(timedelta(hours=2))
    row = {"timestamp": datetime(2024, 3, 5, 1, 0, 0, tzinfo=cet), "room_id": "A1", "temp": 1}
    assert to_payload(row)["timestamp"] == "2024-03-04 23:00:00"
    row["timestamp"] = datetime(2024, 3, 5, 1, 0, 0, tzinfo=UTC)
    assert to_payload(row)["timestamp"] == "2024-03-05 01:00:00"


def test_date_and_bad_timestamp_strings_pass_through() -> None:
    assert to_payload({"timestamp": date(2024, 3, 5)})["timestamp"] == "2024-03-05"
    for raw in ("2024-13-45 99:99:99", "yesterday", "05/03/2024 10:00"):
        assert to_payload({"timestamp": raw})["timestamp"] == raw


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("21.37", 21.37),
        ("21", 21),
        ("-4.5", -4.5),
        (" 7 ", 7),
        ("1e2", 100.0),
        (".5", 0.5),
        ("21,4", "21,4"),
        ("warm", "warm"),
        ("NaN", "NaN"),
        ("inf", "inf"),
        ("1e999", "1e999"),
        ("0x10", "0x10"),
        ("", None),
        (None, None),
        (21.5, 21.5),
        (21, 21),
        (Decimal("21.37"), 21.37),
        (Decimal("21"), 21),
        (float("nan"), "nan"),
    ],
)
def test_temperature_numbers_and_faithful_strings(raw: object, expected: object) -> None:
    value = to_payload({"temp": raw})["temperature"]
    assert value == expected
    assert type(value) is type(expected)


def test_payload_is_always_valid_json() -> None:
    payload = to_payload({"timestamp": b"2024", "room_id": "", "temp": float("inf")})
    assert json.loads(json.dumps(payload, allow_nan=False)) == {
        "timestamp": "2024",
        "room_id": None,
        "temperature": "inf",
    }


def test_room_id_is_never_turned_into_a_number() -> None:
    assert to_payload({"room_id": "101"})["room_id"] == "101"


def test_missing_columns_are_absent_not_invented() -> None:
    assert to_payload({"timestamp": "2024-03-05 10:15:00"}) == {"timestamp": "2024-03-05 10:15:00"}
    assert to_payload({}) == {}


def test_mapping_is_overridable() -> None:
    mapping = ColumnMapping(timestamp="ts", room_id="room", temperature="celsius")
    row = {"ts": "2024-03-05 10:15:00", "room": "B201", "celsius": "19.5"}
    assert to_payload(row, mapping) == {
        "timestamp": "2024-03-05 10:15:00",
        "room_id": "B201",
        "temperature": 19.5,
    }


# --------------------------------------------------------------------------- Glue helpers


def test_build_mappings_keeps_names_and_types() -> None:
    assert build_mappings(DB_MAPPING) == [
        ("measured_at", "timestamp", "measured_at", "timestamp"),
        ("room_id", "string", "room_id", "string"),
        ("temp", "double", "temp", "double"),
    ]
    assert build_mappings(DEFAULT_MAPPING)[0] == ("timestamp", "string", "timestamp", "string")


def test_glue_mappings_feed_to_payload() -> None:
    # The columns ApplyMapping keeps are exactly those to_payload reads.
    kept = {target for _, _, target, _ in build_mappings(DB_MAPPING)}
    row = {name: None for name in kept}
    assert set(to_payload(row, DB_MAPPING)) == {"timestamp", "room_id", "temperature"}


def test_resolved_arg_names_catalog_or_jdbc() -> None:
    catalog = [
        "job.py",
        "--JOB_NAME",
        "j",
        "--target_path",
        "s3://b/f",
        "--source_database",
        "raw",
        "--source_table",
        "temperatures",
    ]
    assert resolved_arg_names(catalog) == [
        "JOB_NAME",
        "target_path",
        "source_database",
        "source_table",
    ]
    jdbc = [
        "job.py",
        "--JOB_NAME=j",
        "--target_path=s3://b/f",
        "--connection_name=sqlserver",
        "--dbtable=dbo.temperatures",
        "--timestamp_column=ts",
    ]
    assert resolved_arg_names(jdbc) == [
        "JOB_NAME",
        "target_path",
        "connection_name",
        "dbtable",
        "timestamp_column",
    ]
    with pytest.raises(ValueError, match="either"):
        resolved_arg_names(["job.py", "--JOB_NAME", "j", "--target_path", "s3://b/f"])
    with pytest.raises(ValueError, match="not both"):
        resolved_arg_names([*catalog, "--connection_name", "c", "--dbtable", "t"])


def test_mapping_from_args_renames_columns() -> None:
    mapping = mapping_from_args({"timestamp_column": "ts", "temperature_column": "celsius"})
    assert mapping.source_columns == ("ts", "room_id", "celsius")
    assert mapping_from_args({}) == DB_MAPPING


def test_target_prefix_is_the_ingest_hour() -> None:
    when = datetime(2024, 3, 5, 23, 30, tzinfo=timezone(timedelta(hours=-2)))
    assert target_prefix("s3://raw/sensor_db_extract/", when) == (
        "s3://raw/sensor_db_extract/2024/03/06/01/"
    )
    with pytest.raises(ValueError, match="s3://"):
        target_prefix("/tmp/x", when)


def test_payload_lines_accept_spark_like_rows() -> None:
    class Row(dict):
        def asDict(self) -> dict:
            return dict(self)

    rows = [Row(measured_at=datetime(2024, 3, 5, 10), room_id="A101", temp=Decimal("20.5"))]
    assert [json.loads(line) for line in payload_lines(rows, DB_MAPPING)] == [
        {"timestamp": "2024-03-05 10:00:00", "room_id": "A101", "temperature": 20.5}
    ]
