"""Seismic ingestion: the generator's files and labels, the USGS normaliser, the importer."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from ingestion.raw_zone import RawZone
from ingestion.seismic import SeismicConfig, simulate_seismic
from ingestion.seismic.importer import SeismicImportError, import_seismic_files
from ingestion.seismic.landing import FEED, land_seismic
from ingestion.seismic.malformed import FEATURE_REASONS
from ingestion.seismic.normalise import MAX_LINE_BYTES, epoch_ms_to_iso, normalise_file_lines
from ingestion.settings import lake_paths

EMSC_KEYS = {
    "source_id", "source_catalog", "lastupdate", "time", "flynn_region", "lat", "lon", "depth",
    "evtype", "auth", "mag", "magtype", "unid",
}  # fmt: skip


def usgs_collection() -> dict:
    def feature(fid: str, lon: float, lat: float, depth, time, mag=4.5) -> dict:
        return {
            "type": "Feature",
            "id": fid,
            "geometry": {"type": "Point", "coordinates": [lon, lat, depth]},
            "properties": {
                "mag": mag, "place": "10 km S of Somewhere", "time": time,
                "updated": 1_714_560_000_000, "magType": "mb", "net": "us", "code": fid[2:],
                "type": "earthquake", "tsunami": 0,
            },
        }  # fmt: skip

    return {
        "type": "FeatureCollection",
        "metadata": {"generated": 1_714_600_000_000, "count": 3, "api": "1.14.1"},
        "features": [
            feature("us7000aaaa", 142.1, 38.3, 35.5, 1_714_557_600_123),
            feature("us7000bbbb", -70.2, -20.1, None, 1_714_557_700_000),
            feature("us7000cccc", 95.0, 3.0, 12.0, "2024-05-01 10:00:00"),
        ],
    }


def test_generator_is_deterministic_and_emsc_shaped() -> None:
    config = SeismicConfig(date(2026, 1, 1), days=3, events_per_day=80, seed=5)
    first, again = simulate_seismic(config), simulate_seismic(config)
    assert [f.line for f in first.files] == [f.line for f in again.files]
    doc = json.loads(first.files[0].line)
    assert doc["type"] == "FeatureCollection"
    assert doc["metadata"]["totalCount"] == len(doc["features"]) == first.files[0].features
    feature = doc["features"][0]
    assert set(feature["properties"]) == EMSC_KEYS
    lon, lat, neg_depth = feature["geometry"]["coordinates"]
    props = feature["properties"]
    assert (lon, lat, -neg_depth) == (props["lon"], props["lat"], props["depth"])
    assert props["time"].endswith("Z") and props["lastupdate"] > props["time"]


def test_revisions_reappear_later_with_a_newer_lastupdate() -> None:
    result = simulate_seismic(
        SeismicConfig(date(2026, 1, 1), days=3, events_per_day=200, seed=2, update_fraction=0.3)
    )
    seen: dict[str, list[tuple[int, str]]] = {}
    for day, daily in enumerate(result.files):
        for f in json.loads(daily.line)["features"]:
            seen.setdefault(f["id"], []).append((day, f["properties"]["lastupdate"]))
    revised = [v for v in seen.values() if len(v) > 1]
    assert len(revised) > 50
    for versions in revised:
        days = [d for d, _ in versions]
        assert days == sorted(set(days))  # one version per later file
        updates = [u for _, u in versions]
        assert updates == sorted(updates) and len(set(updates)) == len(updates)
    assert result.accepted_events == len(seen) == result.events


def test_subduction_events_are_deeper_than_ridge_events() -> None:
    result = simulate_seismic(SeismicConfig(date(2026, 1, 1), days=2, events_per_day=2000, seed=4))
    depth: dict[str, list[float]] = {}
    for daily in result.files:
        for f in json.loads(daily.line)["features"]:
            depth.setdefault(f["properties"]["flynn_region"], []).append(f["properties"]["depth"])
    tonga, ridge = depth["TONGA - KERMADEC ISLANDS"], depth["MID-ATLANTIC RIDGE"]
    assert max(ridge) < 30.0 < 500.0 < max(tonga)  # revisions move depths by a few km
    assert sum(tonga) / len(tonga) > 150 > 10 > sum(ridge) / len(ridge)


def test_invalid_features_and_broken_files_are_labelled() -> None:
    result = simulate_seismic(
        SeismicConfig(
            date(2026, 1, 1), days=4, events_per_day=300, seed=9, invalid_fraction=0.1,
            broken_files=2,
        )
    )  # fmt: skip
    assert result.rejected["invalid_json"] + result.rejected["missing_features_array"] == 2
    assert set(FEATURE_REASONS) <= set(result.rejected)
    bad_features = sum(n for r, n in result.rejected.items() if r in FEATURE_REASONS)
    assert result.features == result.accepted_features + bad_features
    assert sum(f.features for f in result.files) == result.features
    broken = [f for f in result.files if f.features == 0]
    assert len(broken) == 2
    for f in broken:
        try:
            doc = json.loads(f.line)
        except ValueError:
            continue
        assert not isinstance(doc.get("features"), list)


def test_usgs_files_are_normalised_to_the_emsc_shape_without_fixing_values() -> None:
    (line,), kind = normalise_file_lines(json.dumps(usgs_collection(), indent=2))
    assert kind == "usgs" and "\n" not in line
    doc = json.loads(line)
    assert doc["metadata"]["totalCount"] == 3
    good, no_depth, bad_time = doc["features"]
    assert good["geometry"]["coordinates"] == [142.1, 38.3, -35.5]
    assert good["properties"]["depth"] == 35.5
    assert good["properties"]["time"] == "2024-05-01T10:00:00.123Z"
    assert good["properties"]["lastupdate"] == "2024-05-01T10:40:00.000Z"
    assert good["properties"]["flynn_region"] == "10 km S of Somewhere"
    assert set(good["properties"]) == EMSC_KEYS
    assert no_depth["properties"]["depth"] is None  # kept: SQL quarantines depth_not_numeric
    assert no_depth["geometry"]["coordinates"][2] is None
    assert bad_time["properties"]["time"] == "2024-05-01 10:00:00"  # kept: time_unparseable


def test_emsc_text_passes_through_and_broken_text_lands_line_by_line() -> None:
    emsc = simulate_seismic(SeismicConfig(date(2026, 1, 1), days=1, events_per_day=5)).files[0]
    assert normalise_file_lines(emsc.line) == ([emsc.line], "emsc")
    assert normalise_file_lines('{"a": [1,\n2') == (['{"a": [1,', "2"], "not_normalised")
    assert normalise_file_lines('{"error": 503}') == (['{"error":503}'], "not_a_collection")
    assert epoch_ms_to_iso("soon") == "soon" and epoch_ms_to_iso(True) is True
    assert epoch_ms_to_iso(10**20) == 10**20


def test_a_nan_quarantines_its_feature_not_the_file() -> None:
    collection = usgs_collection()
    collection["features"][1]["properties"]["mag"] = float("nan")
    (line,), kind = normalise_file_lines(json.dumps(collection))
    assert kind == "usgs" and '"mag":NaN' in line  # written as NaN: the SQL names it
    features = json.loads(line)["features"]
    assert len(features) == 3 and features[0]["properties"]["source_catalog"] == "USGS"


def test_files_that_cannot_be_normalised_land_as_they_are() -> None:
    twice = '{"type":"FeatureCollection","features":[{"id":"a"}],"features":[]}'
    assert normalise_file_lines(twice) == ([twice], "not_normalised")  # nothing lost
    deep = '{"features":' + "[" * 100_000 + "]" * 100_000 + "}"
    assert normalise_file_lines(deep) == ([deep], "not_normalised")
    surrogate = '{"type":"FeatureCollection","features":[{"id":"\\ud800"}]}'
    assert normalise_file_lines(surrogate) == ([surrogate], "not_normalised")
    assert normalise_file_lines("a\rb\nc\n") == (["a\rb", "c"], "not_normalised")


def test_a_collection_over_the_line_limit_is_split_not_refused() -> None:
    collection = usgs_collection()
    collection["features"] = collection["features"] * 40
    whole, _ = normalise_file_lines(json.dumps(collection))
    limit = len(whole[0].encode()) // 3
    lines, kind = normalise_file_lines(json.dumps(collection), max_line_bytes=limit)
    assert kind == "usgs" and len(lines) >= 3
    assert all(len(line.encode()) <= limit for line in lines)
    docs = [json.loads(line) for line in lines]
    assert [f for d in docs for f in d["features"]] == json.loads(whole[0])["features"]
    assert all(d["metadata"] == docs[0]["metadata"] for d in docs)


def test_the_importer_limit_is_the_readers() -> None:
    sources = Path(__file__).parents[2] / "models/staging/seismic/_seismic__sources.yml"
    assert f"raw_max_line_bytes: {MAX_LINE_BYTES}" in sources.read_text()


def test_import_local_folder_once(tmp_path: Path) -> None:
    paths = lake_paths(tmp_path / "data")
    source = tmp_path / "quakes"
    source.mkdir()
    (source / "usgs.geojson").write_text(json.dumps(usgs_collection()))
    (source / "day.json.gz").write_bytes(gzip.compress(b'{"type":"FeatureCollection"'))
    (source / "notes.txt").write_text("not imported")
    first = import_seismic_files(source, paths=paths, progress=False)
    assert (first.files_imported, first.files_skipped) == (2, 0)
    assert dict(first.kinds) == {"usgs": 1, "not_normalised": 1}
    objects = RawZone(paths.raw).objects(FEED)
    assert len(objects) == 2
    assert all(len(p.read_bytes().splitlines()) == 1 for p in objects)
    again = import_seismic_files(source, paths=paths, progress=False)
    assert (again.files_imported, again.files_skipped) == (0, 2)
    assert len(RawZone(paths.raw).objects(FEED)) == 2
    with pytest.raises(SeismicImportError, match="does not exist"):
        import_seismic_files(tmp_path / "missing", paths=paths)


@mock_aws
def test_import_from_s3_once(tmp_path: Path) -> None:
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket="quakes", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(
        Bucket="quakes", Key="usgs/2024-05-01.geojson", Body=json.dumps(usgs_collection())
    )
    s3.put_object(Bucket="quakes", Key="usgs/readme.md", Body=b"skip me")
    paths = lake_paths(tmp_path)
    first = import_seismic_files("s3://quakes/usgs/", paths=paths, s3_client=s3, progress=False)
    assert (first.files_imported, dict(first.kinds)) == (1, {"usgs": 1})
    (landed,) = RawZone(paths.raw).objects(FEED)
    assert json.loads(landed.read_text())["features"][0]["properties"]["source_catalog"] == "USGS"
    again = import_seismic_files("s3://quakes/usgs/", paths=paths, s3_client=s3, progress=False)
    assert (again.files_imported, again.files_skipped) == (0, 1)


def test_landing_a_batch_twice_is_a_no_op(tmp_path: Path) -> None:
    paths = lake_paths(tmp_path)
    config = SeismicConfig(date(2026, 1, 1), days=2, events_per_day=20, seed=1)
    first, second = land_seismic(config, paths), land_seismic(config, paths)
    assert not first.skipped and second.skipped
    assert first.features == second.features
    objects = RawZone(paths.raw).objects(FEED)
    assert len(objects) == 2
    assert [p.parent.relative_to(paths.raw / FEED).as_posix() for p in objects] == [
        "2026/01/02/00",
        "2026/01/03/00",
    ]
