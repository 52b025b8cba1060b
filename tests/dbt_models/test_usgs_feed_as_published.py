"""A USGS earthquake summary feed written the way USGS publishes it, not the way our generator
writes EMSC files: every property of the GeoJSON summary format (nulls for felt, cdi, mmi, alert
and tz; comma-wrapped ids, sources and types), a bbox, compact UTF-8 with place names that are
not ASCII, a quarry blast, a micro-earthquake of negative magnitude above sea level (negative
depth) and an Alaska event whose magnitude USGS has not computed yet (null).

Each of these is something a real catalogue contains and our own simulator never produces."""

from __future__ import annotations

import json

import pytest
from lakehelpers import dbt, query

from ingestion.seismic.importer import import_seismic_files
from ingestion.settings import lake_paths
from orchestration.relations import Relations

pytestmark = pytest.mark.dbt


def _feature(
    event_id: str,
    coordinates: list[float],
    mag: float | None,
    mag_type: str,
    place: str,
    time_ms: int,
    event_type: str = "earthquake",
) -> dict:
    net, code = event_id[:2], event_id[2:]
    return {
        "type": "Feature",
        "properties": {
            "mag": mag, "place": place, "time": time_ms, "updated": time_ms + 412_337,
            "tz": None,
            "url": f"https://earthquake.usgs.gov/earthquakes/eventpage/{event_id}",
            "detail": f"https://earthquake.usgs.gov/earthquakes/feed/v1.0/detail/{event_id}.geojson",
            "felt": None, "cdi": None, "mmi": None, "alert": None, "status": "reviewed",
            "tsunami": 0, "sig": 312, "net": net, "code": code, "ids": f",{event_id},",
            "sources": f",{net},", "types": ",origin,phase-data,", "nst": 31, "dmin": 0.8,
            "rms": 0.62, "gap": 88, "magType": mag_type, "type": event_type,
            "title": f"M {mag} - {place}",
        },
        "geometry": {"type": "Point", "coordinates": coordinates},
        "id": event_id,
    }  # fmt: skip


FEED = {
    "type": "FeatureCollection",
    "metadata": {
        "generated": 1772452800000,
        "url": "https://earthquake.usgs.gov/earthquakes/feed/v1.0/summary/all_day.geojson",
        "title": "USGS All Earthquakes, Past Day",
        "status": 200,
        "api": "1.14.1",
        "count": 5,
    },
    "features": [
        _feature("us7000q1ab", [142.0712, 39.0311, 35.2], 4.7, "mb",
                 "42 km E of Ōfunato, Japan", 1772445600123),
        _feature("us6000s9zk", [37.2144, 38.0877, 10.0], 5.2, "mww",
                 "9 km SE of Göksun, Türkiye", 1772446200450),
        _feature("nc75123456", [-122.8155, 38.8213, -1.05], -0.42, "md",
                 "3 km NW of The Geysers, CA", 1772447000010),
        _feature("uu60612345", [-112.1511, 40.5238, -2.1], 1.62, "ml",
                 "5 km SW of Bingham Canyon, Utah", 1772448000990, event_type="quarry blast"),
        _feature("ak0263bv4x", [-150.9877, 61.5024, 44.3], None, "ml",
                 "27 km W of Willow, Alaska", 1772449000000),
    ],
    "bbox": [-150.9877, 38.0877, -2.1, 142.0712, 61.5024, 44.3],
}  # fmt: skip
ACCEPTED = {"us7000q1ab", "us6000s9zk", "nc75123456", "uu60612345"}
QUARANTINED = {"magnitude_not_numeric": 1}  # the Alaska event: USGS had no magnitude yet


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    paths = lake_paths(tmp_path_factory.mktemp("usgs-lake"))
    feed = paths.data_dir / "all_day.geojson"
    # As served: compact separators, UTF-8 place names (not \u escapes).
    feed.write_bytes(json.dumps(FEED, ensure_ascii=False, separators=(",", ":")).encode())
    import_seismic_files(feed, paths=paths, progress=False)
    dbt(paths, "build")
    return paths, Relations.from_manifest()


def test_every_feature_is_accepted_or_quarantined(built) -> None:
    paths, relations = built
    fact = relations.model("fct_seismic_events")
    quarantine = relations.model("quarantine_rejected_rows")
    accepted = {row[0] for row in query(paths, f"select event_id from {fact}")}
    rejected = dict(
        query(
            paths,
            f"select rejection_reason, count(*) from {quarantine}"
            " where feed = 'seismic_events' group by 1",
        )
    )
    assert accepted == ACCEPTED
    assert rejected == QUARANTINED
    assert len(accepted) + sum(rejected.values()) == len(FEED["features"])


def test_real_catalogue_values_survive_as_published(built) -> None:
    paths, relations = built
    fact = relations.model("fct_seismic_events")
    rows = {
        row[0]: row[1:]
        for row in query(
            paths,
            f"select event_id, magnitude, depth_km, flynn_region, event_type from {fact}",
        )
    }
    # Negative magnitude and a hypocentre above sea level are physics, not errors.
    assert rows["nc75123456"][:2] == (-0.42, -1.05)
    # Place names keep their letters (no mojibake, no escapes).
    assert rows["us7000q1ab"][2] == "42 km E of Ōfunato, Japan"
    assert rows["us6000s9zk"][2] == "9 km SE of Göksun, Türkiye"
    # A quarry blast is a seismic event of another type, kept with its type.
    assert rows["uu60612345"][3] == "quarry blast"
