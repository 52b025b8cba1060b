"""The seismic feed on DuckDB: flatten, quarantine, reconciliation against the generator's
labels, latest-revision de-duplication, UTM enrichment, the zone map, incremental == full."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from lakehelpers import dbt, query, table_fingerprint

from ingestion.seismic import SeismicConfig
from ingestion.seismic.importer import import_seismic_files
from ingestion.seismic.landing import land_seismic
from ingestion.seismic.malformed import COLLECTION_REASONS, FEATURE_REASONS
from ingestion.settings import LakePaths, lake_paths

pytestmark = pytest.mark.dbt

FACT = "main_marts.fct_seismic_events"
CONFIG = SeismicConfig(
    date(2026, 3, 1), days=4, events_per_day=250, seed=21, invalid_fraction=0.05, broken_files=2
)
# A USGS export with one valid event and two the SQL must quarantine (values kept as they were).
USGS = {
    "type": "FeatureCollection",
    "metadata": {"count": 3},
    "features": [
        {
            "type": "Feature",
            "id": "us7000good",
            "geometry": {"type": "Point", "coordinates": [142.37, 38.32, 29.0]},
            "properties": {"time": 1772445600000, "updated": 1772449200000, "mag": 6.1,
                           "magType": "mww", "place": "off the east coast of Honshu, Japan",
                           "net": "us", "code": "7000good", "type": "earthquake"},
        },
        {
            "type": "Feature",
            "id": "us7000nodepth",
            "geometry": {"type": "Point", "coordinates": [-70.1, -20.2, None]},
            "properties": {"time": 1772445600000, "updated": 1772449200000, "mag": 4.0,
                           "place": "Tarapaca, Chile"},
        },
        {
            "type": "Feature",
            "id": "us7000badlat",
            "geometry": {"type": "Point", "coordinates": [10.0, 95.0, 10.0]},
            "properties": {"time": 1772445600000, "updated": 1772449200000, "mag": 3.0,
                           "place": "nowhere"},
        },
    ],
}  # fmt: skip
USGS_REJECTED = {"depth_not_numeric": 1, "latitude_out_of_range": 1}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[LakePaths, dict, Path]:
    """Four daily EMSC files (invalid features, two broken files) and a USGS file; one build."""
    paths = lake_paths(tmp_path_factory.mktemp("seismic-lake"))
    landing = land_seismic(CONFIG, paths)
    usgs = paths.data_dir / "usgs.geojson"
    usgs.write_text(json.dumps(USGS))
    import_seismic_files(usgs, paths=paths, progress=False)
    dbt(paths, "build")
    labels = {
        "features": landing.features,
        "accepted_events": landing.accepted_events,
        "accepted_features": landing.accepted_features,
        "rejected": landing.rejected,
    }
    return paths, labels, usgs


def test_every_feature_is_accepted_or_quarantined_with_the_injected_reason(built) -> None:
    paths, labels, _ = built
    found = dict(
        query(
            paths,
            "select rejection_reason, count(*) from main_quarantine.quarantine_rejected_rows"
            " where feed = 'seismic_events' group by 1",
        )
    )
    expected = dict(labels["rejected"])
    for reason, n in USGS_REJECTED.items():
        expected[reason] = expected.get(reason, 0) + n
    assert set(labels["rejected"]) == {*FEATURE_REASONS, *COLLECTION_REASONS}  # every reason
    assert found == expected
    ((accepted,),) = query(
        paths, "select count(*) from main_intermediate.int_seismic_event_versions"
    )
    assert accepted == labels["accepted_features"] + 1  # + the valid USGS event
    broken_lines = labels["rejected"]["invalid_json"] + labels["rejected"]["missing_features_array"]
    assert labels["features"] + 3 + broken_lines == accepted + sum(found.values())


def test_one_row_per_event_with_its_latest_revision(built) -> None:
    paths, labels, _ = built
    ((events, distinct),) = query(paths, f"select count(*), count(distinct event_id) from {FACT}")
    assert events == distinct == labels["accepted_events"] + 1
    stale = query(
        paths,
        f"""
        select fct.event_id from {FACT} as fct
        join main_intermediate.int_seismic_event_versions as v using (event_id)
        group by fct.event_id, fct.last_updated_at
        having fct.last_updated_at <> max(v.last_updated_at)
        """,
    )
    assert stale == []
    ((revised,),) = query(paths, f"select count(*) from {FACT} where version_count > 1")
    assert revised > 20


def test_usgs_event_is_normalised_and_projected(built) -> None:
    paths, _, _ = built
    ((row),) = query(
        paths,
        f"select event_at, depth_km, flynn_region, source_catalog, utm_zone, utm_band,"
        f" utm_hemisphere from {FACT} where event_id = 'us7000good'",
    )
    assert str(row[0]) == "2026-03-02 10:00:00"
    assert row[1:] == (29.0, "off the east coast of Honshu, Japan", "USGS", 54, "S", "N")


def test_zone_map_ranks_subduction_zones_deepest(built) -> None:
    paths, _, _ = built
    rows = query(
        paths,
        "select depth_quartile, count(*), sum(event_count), avg(avg_depth_km)"
        " from main_marts.agg_seismic_utm_zones group by 1 order by 1",
    )
    assert [q for q, *_ in rows] == [1, 2, 3, 4]
    sizes = [n for _, n, _, _ in rows]
    assert max(sizes) - min(sizes) <= 1
    depths = [d for *_, d in rows]
    assert depths == sorted(depths) and depths[3] > 150 > 20 > depths[0]
    ((inside,),) = query(paths, f"select count(*) from {FACT} where not is_outside_utm")
    assert sum(events for _, _, events, _ in rows) == inside
    # the deepest quartile sits on subduction slabs (Tonga, Japan, Andes, Sumatra-Java, ...)
    regions = query(
        paths,
        f"""
        select fct.flynn_region, count(*) from {FACT} as fct
        join main_marts.agg_seismic_utm_zones as zones using (utm_zone, utm_band)
        where zones.depth_quartile = 4 group by 1 order by 2 desc limit 3
        """,
    )
    ridges = ("MID-ATLANTIC RIDGE", "EAST PACIFIC RISE", "CARLSBERG - CENTRAL INDIAN RIDGE")
    assert not any(region in ridges for region, _ in regions)


def test_polar_events_are_flagged_not_projected(built) -> None:
    paths, _, _ = built
    rows = query(
        paths,
        f"select latitude, utm_zone, utm_easting_m from {FACT} where is_outside_utm",
    )
    assert rows, "the Gakkel ridge beyond 84N should produce events outside UTM"
    assert all((lat > 84 or lat < -80) and zone is None and e is None for lat, zone, e in rows)


def test_incremental_revision_equals_full_refresh(built, tmp_path: Path) -> None:
    """A later file revises an event and moves it to the next day: the incremental fact drops
    it from its old partition, and equals a full refresh of the same lake."""
    paths, _, _ = built
    ((event_id, event_at, lat, lon),) = query(
        paths,
        f"select event_id, event_at, latitude, longitude from {FACT}"
        " where event_date = date '2026-03-02' and source_catalog = 'EMSC-RTS'"
        " order by event_id limit 1",
    )
    revised = {
        "type": "FeatureCollection",
        "metadata": {"totalCount": 1},
        "features": [
            {
                "type": "Feature",
                "id": event_id,
                "geometry": {"type": "Point", "coordinates": [lon, lat, -33.0]},
                "properties": {
                    "time": "2026-03-03T00:00:01.5Z", "lastupdate": "2026-03-09T12:00:00.0Z",
                    "depth": 33.0, "mag": 5.0, "magtype": "mw", "lon": lon, "lat": lat,
                    "source_catalog": "EMSC-RTS",
                },
            }
        ],
    }  # fmt: skip
    source = tmp_path / "revision.json"
    source.write_text(json.dumps(revised))
    import_seismic_files(source, paths=paths, progress=False)
    assert str(event_at).startswith("2026-03-02")
    dbt(paths, "build", "--select", "+fct_seismic_events")
    rows = query(paths, f"select event_date, depth_km from {FACT} where event_id = '{event_id}'")
    assert [(str(d), depth) for d, depth in rows] == [("2026-03-03", 33.0)]
    incremental = table_fingerprint(paths, FACT)
    dbt(paths, "build", "--select", "fct_seismic_events", "--full-refresh")
    assert table_fingerprint(paths, FACT) == incremental
