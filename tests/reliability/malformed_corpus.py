"""Malformed-input corpora, one per feed, generated in code.

Each kind is one raw object (its exact bytes, and whether its name ends in ``.gz``) with the
outcome every row it yields must get from staging: a quarantine reason of
seeds/quarantine_reasons.csv, or ``accepted``. An object the reader cannot split into lines
yields one row; a seismic line yields one row per feature (or one for the whole line). The test
builds each feed's corpus in one dbt build and compares, object by object.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ingestion.seismic import normalise

ACCEPTED = "accepted"
# the reader's limit for feeds without raw_max_line_bytes (var raw_default_max_line_bytes)
DEFAULT_MAX_LINE_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Kind:
    name: str
    body: bytes
    expected: tuple[str, ...]
    gz_name: bool = False


def _line(doc: dict[str, Any] | str) -> bytes:
    text = doc if isinstance(doc, str) else json.dumps(doc, separators=(",", ":"))
    return text.encode() + b"\n"


def reader_kinds(valid: bytes) -> list[Kind]:
    """Objects that test the reader itself; ``valid`` is one accepted line (with its newline)."""
    line = valid.rstrip(b"\n")
    return [
        Kind("empty_object", b"", ("empty_object",)),
        Kind("gzip_bytes_without_gz_name", gzip.compress(valid, mtime=0), ("bad_compression",)),
        Kind("plain_text_named_gz", valid, ("bad_compression",), gz_name=True),
        Kind("truncated_gzip", gzip.compress(valid * 50, mtime=0)[:40], ("bad_compression",), True),
        Kind("gzip_ok", gzip.compress(valid * 2, mtime=0), (ACCEPTED, ACCEPTED), gz_name=True),
        Kind(
            "gzip_two_members", gzip.compress(valid) + gzip.compress(valid), (ACCEPTED,) * 2, True
        ),
        Kind("gzip_of_latin1", gzip.compress(b'{"x":"\xe9"}\n', mtime=0), ("not_utf8",), True),
        Kind("latin1_byte", valid + b'{"x":"caf\xe9"}\n', ("not_utf8",)),
        Kind("binary_garbage", bytes(range(256)) * 4, ("not_utf8",)),
        Kind("utf16_text", valid.decode().encode("utf-16"), ("not_utf8",)),
        Kind(
            "line_over_limit",
            valid + b" " * (DEFAULT_MAX_LINE_BYTES + 10) + b"\n" + valid,
            (ACCEPTED, "line_too_long", ACCEPTED),
        ),
        # JSON allows CR as whitespace between tokens: the line must stay one line
        Kind("lone_cr_inside_line", line[:-1] + b',\r"note":"ab"}\n', (ACCEPTED,)),
        Kind("crlf_line_endings", line + b"\r\n" + line + b"\r\n", (ACCEPTED, ACCEPTED)),
        Kind("no_final_newline", line, (ACCEPTED,)),
        Kind("unit_separator_then_junk", line + b"\x1fjunk\n", ("invalid_json",)),
        Kind("nul_byte_after_line", line + b"\x00\n", ("invalid_json",)),
        Kind(
            "blank_lines_between",
            valid + b"\n  \n" + valid,
            (ACCEPTED, "empty_line", "empty_line", ACCEPTED),
        ),
        Kind("utf8_bom", b"\xef\xbb\xbf" + valid, ("invalid_json",)),
    ]


def strict_json_kinds(valid: dict[str, Any], number_key: str) -> list[Kind]:
    """Lines DuckDB's lenient parser accepts (or rejects without naming why) that strict JSON
    refuses; ``number_key`` is a numeric field of ``valid``."""
    text = json.dumps(valid, separators=(",", ":"))
    number = json.dumps(valid[number_key])

    def swap(value: str) -> bytes:
        return text.replace(f'"{number_key}":{number}', f'"{number_key}":{value}').encode() + b"\n"

    return [
        Kind("nan_number", swap("NaN"), ("non_finite_number",)),
        Kind("minus_nan", swap("-NaN"), ("non_finite_number",)),
        Kind("infinity_number", swap("Infinity"), ("non_finite_number",)),
        Kind("minus_infinity", swap("-Infinity"), ("non_finite_number",)),
        Kind("lowercase_inf", swap("inf"), ("non_finite_number",)),
        Kind("overflowing_1e400", swap("1e400"), ("non_finite_number",)),
        Kind("overflowing_minus_1e400", swap("-1e400"), ("non_finite_number",)),
        Kind("plus_sign", swap("+" + number.lstrip("-")), ("number_with_bare_sign",)),
        Kind("minus_dot", swap("-.5"), ("number_with_bare_sign",)),
        Kind("minus_space", swap("- 5"), ("number_with_bare_sign",)),
        Kind("trailing_comma_object", (text[:-1] + ",}").encode() + b"\n", ("trailing_comma",)),
        Kind("trailing_comma_space", (text[:-1] + " , }").encode() + b"\n", ("trailing_comma",)),
        Kind(
            "duplicate_key",
            (text[:-1] + f',"{number_key}":{number}}}').encode() + b"\n",
            ("duplicate_key",),
        ),
        Kind(
            "nan_inside_string",
            (text[:-1] + ',"note":"NaN, Infinity,}"}').encode() + b"\n",
            (ACCEPTED,),
        ),
        Kind(
            "lone_surrogate", (text[:-1] + ',"note":"\\ud800"}').encode() + b"\n", ("invalid_json",)
        ),
        Kind(
            "deep_nesting",
            (text[:-1] + ',"deep":' + "[" * 5000 + "]" * 5000 + "}").encode() + b"\n",
            (ACCEPTED,),
        ),
    ]


def common_line_kinds(valid: dict[str, Any]) -> list[Kind]:
    text = json.dumps(valid, separators=(",", ":"))
    return [
        Kind("valid", _line(valid), (ACCEPTED,)),
        Kind("truncated_json", text[:-5].encode() + b"\n", ("invalid_json",)),
        Kind("json_array", b"[1,2,3]\n", ("invalid_json",)),
        Kind("json_string", b'"hello"\n', ("invalid_json",)),
        Kind("json_null", b"null\n", ("invalid_json",)),
        Kind("single_quotes", text.replace('"', "'").encode() + b"\n", ("invalid_json",)),
        Kind("two_objects_one_line", (text + " " + text).encode() + b"\n", ("invalid_json",)),
        Kind("trailing_comment", (text + " // note").encode() + b"\n", ("invalid_json",)),
    ]


def with_field(valid: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    return {**valid, key: value}


def without(valid: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in valid.items() if k != key}


def field_kinds(
    valid: dict[str, Any], cases: list[tuple[str, Callable[[dict[str, Any]], Any], str]]
) -> list[Kind]:
    return [Kind(name, _line(make(valid)), (reason,)) for name, make, reason in cases]


# --- temperature (the Firehose feed; every temperature feed shares the parser) ----------------

TEMPERATURE_VALID = {"timestamp": "2026-03-01 09:59:00", "room_id": "A101", "temperature": 21.5}


def temperature_kinds() -> list[Kind]:
    v = TEMPERATURE_VALID
    w = with_field
    cases: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
        ("missing_timestamp", lambda d: without(d, "timestamp"), "missing_timestamp"),
        ("null_timestamp", lambda d: w(d, "timestamp", None), "missing_timestamp"),
        ("missing_room", lambda d: without(d, "room_id"), "missing_room_id"),
        ("empty_room", lambda d: w(d, "room_id", " "), "missing_room_id"),
        ("missing_temperature", lambda d: without(d, "temperature"), "missing_temperature"),
        ("temperature_string", lambda d: w(d, "temperature", "21.5"), "temperature_not_numeric"),
        ("temperature_bool", lambda d: w(d, "temperature", True), "temperature_not_numeric"),
        (
            "timestamp_iso_t",
            lambda d: w(d, "timestamp", "2026-03-01T09:59:00"),
            "timestamp_unparseable",
        ),
        (
            "timestamp_feb_30",
            lambda d: w(d, "timestamp", "2026-02-30 09:59:00"),
            "timestamp_unparseable",
        ),
        ("temperature_hot", lambda d: w(d, "temperature", 1e300), "temperature_out_of_range"),
        ("temperature_cold", lambda d: w(d, "temperature", -41), "temperature_out_of_range"),
        (
            "timestamp_future",
            lambda d: w(d, "timestamp", "2026-03-01 11:00:00"),
            "timestamp_in_future",
        ),
        ("unknown_room", lambda d: w(d, "room_id", "Z999"), "unknown_room"),
        ("integer_temperature", lambda d: w(d, "temperature", 21), ACCEPTED),
        ("extra_field", lambda d: w(d, "battery", 3.1), ACCEPTED),
    ]
    return (
        common_line_kinds(v)
        + reader_kinds(_line(v))
        + strict_json_kinds(v, "temperature")
        + field_kinds(v, cases)
    )


# --- traffic ------------------------------------------------------------------------------

TRAFFIC_VALID: dict[str, Any] = {
    "unieke_id": 11,
    "tijd_waarneming": 1772359140,  # 2026-03-01 09:59:00 UTC
    **{f"voertuigsnelheid_rekenkundig_klasse{c}": 100 for c in range(2, 6)},
    **{f"verkeersintensiteit_klasse{c}": 3 for c in range(2, 6)},
    "rekendata_bezettingsgraad": 6,
}


def traffic_kinds() -> list[Kind]:
    v = TRAFFIC_VALID
    w = with_field
    count = "verkeersintensiteit_klasse2"
    speed = "voertuigsnelheid_rekenkundig_klasse3"
    cases: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
        ("missing_location", lambda d: without(d, "unieke_id"), "missing_location_id"),
        ("location_string", lambda d: w(d, "unieke_id", "11"), "location_id_invalid"),
        ("location_fraction", lambda d: w(d, "unieke_id", 11.5), "location_id_invalid"),
        ("location_zero", lambda d: w(d, "unieke_id", 0), "location_id_invalid"),
        ("location_1e20", lambda d: w(d, "unieke_id", 1e20), "location_id_invalid"),
        ("location_30_digits", lambda d: w(d, "unieke_id", 10**29), "location_id_invalid"),
        ("location_unknown", lambda d: w(d, "unieke_id", 999999), "unknown_location"),
        ("missing_time", lambda d: without(d, "tijd_waarneming"), "missing_measured_at"),
        (
            "time_iso_string",
            lambda d: w(d, "tijd_waarneming", "2026-03-01T09:59:00"),
            "measured_at_invalid",
        ),
        (
            "time_milliseconds",
            lambda d: w(d, "tijd_waarneming", 1772359140000),
            "measured_at_invalid",
        ),
        ("time_future", lambda d: w(d, "tijd_waarneming", 1772362800), "measured_at_in_future"),
        ("missing_speed", lambda d: without(d, speed), "missing_measurement_field"),
        (
            "null_occupancy",
            lambda d: w(d, "rekendata_bezettingsgraad", None),
            "missing_measurement_field",
        ),
        ("speed_string", lambda d: w(d, speed, "100"), "measurement_not_numeric"),
        ("speed_300", lambda d: w(d, speed, 300), "speed_out_of_range"),
        ("speed_no_data_code", lambda d: w(d, speed, 254), ACCEPTED),
        ("count_negative", lambda d: w(d, count, -1), "vehicle_count_invalid"),
        ("count_fraction", lambda d: w(d, count, 2.5), "vehicle_count_invalid"),
        ("count_3e9", lambda d: w(d, count, 3e9), "vehicle_count_invalid"),
        ("count_1e12", lambda d: w(d, count, 10**12), "vehicle_count_invalid"),
        (
            "occupancy_101",
            lambda d: w(d, "rekendata_bezettingsgraad", 101),
            "occupancy_out_of_range",
        ),
        ("occupancy_unknown", lambda d: w(d, "rekendata_bezettingsgraad", -1), ACCEPTED),
    ]
    return (
        common_line_kinds(v)
        + reader_kinds(_line(v))
        + strict_json_kinds(v, count)
        + field_kinds(v, cases)
    )


# --- seismic: a FeatureCollection per line --------------------------------------------------

SEISMIC_FEATURE: dict[str, Any] = {
    "geometry": {"type": "Point", "coordinates": [21.5, 38.2, -10.0]},
    "type": "Feature",
    "id": "20260301_0000001",
    "properties": {
        "source_id": "1",
        "source_catalog": "EMSC-RTS",
        "lastupdate": "2026-03-01T09:00:00.0Z",
        "time": "2026-03-01T08:59:00.0Z",
        "flynn_region": "GREECE",
        "lat": 38.2,
        "lon": 21.5,
        "depth": 10.0,
        "evtype": "ke",
        "auth": "NOA",
        "mag": 2.5,
        "magtype": "ml",
        "unid": "20260301_0000001",
    },
}


def _feature(**changes: Any) -> dict[str, Any]:
    feature = json.loads(json.dumps(SEISMIC_FEATURE))
    for path, value in changes.items():
        target = feature
        *parents, leaf = path.split("__")
        for parent in parents:
            target = target[parent]
        if value is _ABSENT:
            target.pop(leaf)
        else:
            target[leaf] = value
    return feature


_ABSENT = object()


def _collection(*features: Any) -> bytes:
    return _line({"type": "FeatureCollection", "features": list(features)})


def _usgs_feature(code: str, mag: float) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": f"us{code}",
        "geometry": {"type": "Point", "coordinates": [142.1, 38.3, 35.5]},
        "properties": {
            "mag": mag, "place": "off the coast", "time": 1772355540000,
            "updated": 1772355600000, "magType": "mb", "net": "us", "code": code,
            "type": "earthquake",
        },
    }  # fmt: skip


def imported_kinds() -> list[Kind]:
    """Files as `eventlake import-seismic` lands them (ingestion/seismic/normalise.py)."""
    usgs = {"type": "FeatureCollection", "features": [_usgs_feature(str(i), 4.5) for i in range(3)]}
    with_nan = json.loads(json.dumps(usgs))
    with_nan["features"][1]["properties"]["mag"] = float("nan")

    def landed(text: str, max_line_bytes: int = normalise.MAX_LINE_BYTES) -> bytes:
        lines, _ = normalise.normalise_file_lines(text, max_line_bytes)
        return "".join(line + "\n" for line in lines).encode()

    twice = json.dumps(usgs)[:-1] + ', "features": []}'
    return [
        Kind("imported_usgs", landed(json.dumps(usgs, indent=2)), (ACCEPTED,) * 3),
        Kind("imported_usgs_one_nan", landed(json.dumps(with_nan)),
             (ACCEPTED, "non_finite_number", ACCEPTED)),
        Kind("imported_features_key_twice", landed(twice), ("duplicate_key",)),
        Kind("imported_split_over_line_limit", landed(json.dumps(usgs), 900), (ACCEPTED,) * 3),
        Kind("imported_not_json_pretty", landed('{\n  "features": [\n'),
             ("invalid_json", "invalid_json")),
    ]  # fmt: skip


def seismic_kinds() -> list[Kind]:
    ok = _feature()
    collection_text = _collection(ok).decode().rstrip("\n")
    feature_text = json.dumps(ok, separators=(",", ":"))
    mag = '"mag":2.5'
    one_bad = [  # a valid feature beside one with a single fault: the valid one still passes
        ("feature_string", "not a feature", "feature_not_an_object"),
        ("feature_number", 42, "feature_not_an_object"),
        ("id_missing", _feature(id=_ABSENT), "missing_event_id"),
        ("id_empty", _feature(id=" "), "missing_event_id"),
        ("id_true", _feature(id=True), "event_id_not_text_or_number"),
        ("id_object", _feature(id={"a": 1}), "event_id_not_text_or_number"),
        ("coordinates_missing", _feature(geometry__coordinates=_ABSENT), "missing_coordinates"),
        ("latitude_string", _feature(geometry__coordinates=[21.5, "38"]), "missing_coordinates"),
        ("latitude_91", _feature(geometry__coordinates=[21.5, 91, -10]), "latitude_out_of_range"),
        ("longitude_181", _feature(geometry__coordinates=[181, 38, -10]), "longitude_out_of_range"),
        ("depth_string", _feature(properties__depth="10"), "depth_not_numeric"),
        ("magnitude_missing", _feature(properties__mag=_ABSENT), "magnitude_not_numeric"),
        ("depth_5000", _feature(properties__depth=5000), "depth_out_of_range"),
        ("magnitude_1e308", _feature(properties__mag=1e308), "magnitude_out_of_range"),
        ("magnitude_minus_20", _feature(properties__mag=-20), "magnitude_out_of_range"),
        ("time_not_iso", _feature(properties__time="2026-03-01 08:59:00"), "time_unparseable"),
        ("lastupdate_missing", _feature(properties__lastupdate=_ABSENT), "lastupdate_unparseable"),
        ("id_number", _feature(id=123456), ACCEPTED),
    ]
    kinds = [Kind(name, _collection(ok, bad), (ACCEPTED, reason)) for name, bad, reason in one_bad]

    def swap_mag(value: str) -> bytes:
        return (collection_text.replace(mag, f'"mag":{value}', 1) + "\n").encode()

    def two(feature_line: str) -> bytes:  # the valid feature, then an edited copy as text
        return (collection_text[:-2] + "," + feature_line + "]}\n").encode()

    kinds += [
        Kind("valid", _collection(ok, ok), (ACCEPTED, ACCEPTED)),
        Kind("empty_features", _collection(), ()),
        Kind(
            "mag_nan_beside_valid",
            two(feature_text.replace(mag, '"mag":NaN')),
            (ACCEPTED, "non_finite_number"),
        ),
        Kind(
            "mag_minus_1e400",
            two(feature_text.replace(mag, '"mag":-1e400')),
            (ACCEPTED, "non_finite_number"),
        ),
        Kind(
            "depth_infinity",
            two(feature_text.replace('"depth":10.0', '"depth":Infinity')),
            (ACCEPTED, "non_finite_number"),
        ),
        Kind(
            "duplicate_key_in_properties",
            two(feature_text.replace(mag, mag + ',"mag":9.9')),
            (ACCEPTED, "duplicate_key"),
        ),
        Kind("mag_plus_sign", swap_mag("+2.5"), ("number_with_bare_sign",)),
        Kind(
            "trailing_comma_in_features",
            (two(feature_text).decode()[:-3] + ",]}\n").encode(),
            ("trailing_comma",),
        ),
        Kind(
            "duplicate_features_key",
            (collection_text[:-1] + ',"features":[]}\n').encode(),
            ("duplicate_key",),
        ),
        Kind("no_features_key", b'{"type":"FeatureCollection"}\n', ("missing_features_array",)),
        Kind("features_not_array", b'{"features":{"a":1}}\n', ("missing_features_array",)),
        Kind("error_object", b'{"error":"rate limited"}\n', ("missing_features_array",)),
        Kind("truncated_collection", collection_text[:-30].encode() + b"\n", ("invalid_json",)),
        Kind("bare_array", b"[1,2]\n", ("invalid_json",)),
        Kind(
            "empty_line_between",
            _collection(ok) + b"\n" + _collection(ok),
            (ACCEPTED, "empty_line", ACCEPTED),
        ),
        Kind("empty_object", b"", ("empty_object",)),
        Kind("plain_text_named_gz", _collection(ok), ("bad_compression",), gz_name=True),
        Kind("gzip_without_gz_name", gzip.compress(_collection(ok), mtime=0), ("bad_compression",)),
        Kind(
            "gzip_ok",
            gzip.compress(_collection(ok, ok), mtime=0),
            (ACCEPTED, ACCEPTED),
            gz_name=True,
        ),
        Kind(
            "latin1_region",
            _collection(_feature(properties__flynn_region="X")).replace(b'"X"', b'"\xe9"'),
            ("not_utf8",),
        ),
        Kind(
            "lone_cr_between_tokens",
            _collection(ok).replace(b'"type":"Feature",', b'"type":"Feature",\r'),
            (ACCEPTED,),
        ),
        Kind("crlf_line", _collection(ok).rstrip(b"\n") + b"\r\n", (ACCEPTED,)),
    ]
    return kinds + imported_kinds()
