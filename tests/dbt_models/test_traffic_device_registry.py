"""A user's own traffic detectors through the device registry (issue 12, item 2), on DuckDB.

The measurements are written here by hand as a detector's NDJSON export would be (a demo detector
from the seed, one nobody registered), landed with `eventlake land`, and the detectors registered
and retired with the CLI as a user would.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from lakehelpers import dbt, eventlake_cli, query

from ingestion.settings import LakePaths, lake_paths

pytestmark = pytest.mark.dbt

MINUTE0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
SEEDED = 11  # in seeds/traffic_locations.csv (segment E40-17-2)
NEW = 9001  # in no seed
RETIRED_AT = "2026-03-01 09:03:00"  # SEEDED's minutes 3, 4 and 5 are after its retirement
SELECT = (
    "--select",
    "+fct_traffic_measurements",
    "+quarantine_rejected_rows",
    "stg_device_registry__traffic_locations",
    "quarantine_reasons",
    "traffic_segments",
    "--indirect-selection",
    "cautious",
)


def _line(location: int, minute: int) -> str:
    measured = MINUTE0 + timedelta(minutes=minute)
    return json.dumps(
        {
            "unieke_id": location,
            "tijd_waarneming": int(measured.timestamp()),
            **{f"voertuigsnelheid_rekenkundig_klasse{c}": 90 + c for c in range(2, 6)},
            **{f"verkeersintensiteit_klasse{c}": c for c in range(2, 6)},
            "rekendata_bezettingsgraad": 7,
        }
    )


def _quarantined(paths: LakePaths) -> dict[tuple[int, str], int]:
    rows = query(
        paths,
        "select cast(json_extract(raw_line, '$.unieke_id') as bigint), rejection_reason, count(*)"
        " from main_quarantine.quarantine_rejected_rows group by 1, 2",
    )
    return {(location, reason): n for location, reason, n in rows}


def _accepted(paths: LakePaths) -> dict[int, int]:
    rows = query(
        paths,
        "select location_id, count(*) from main_marts.fct_traffic_measurements group by 1",
    )
    return dict(rows)


@pytest.fixture(scope="module")
def unregistered_lake(tmp_path_factory: pytest.TempPathFactory) -> LakePaths:
    """Six minutes of the seed's detector and of one nobody registered, built once."""
    paths = lake_paths(tmp_path_factory.mktemp("detector-lake"))
    export = tmp_path_factory.mktemp("detector-export") / "measurements.ndjson"
    lines = [_line(location, minute) for location in (SEEDED, NEW) for minute in range(6)]
    export.write_text("\n".join(lines) + "\n")
    eventlake_cli(paths.data_dir, "land", "traffic", str(export))
    dbt(paths, "build", *SELECT)
    return paths


def test_an_unregistered_detector_is_quarantined_with_how_to_register(unregistered_lake) -> None:
    paths = unregistered_lake
    assert _quarantined(paths) == {(NEW, "unknown_location"): 6}
    assert _accepted(paths) == {SEEDED: 6}
    ((description,),) = query(
        paths,
        "select description from main_reference.quarantine_reasons"
        " where domain = 'traffic' and reason = 'unknown_location'",
    )
    assert "eventlake devices add <location_id> --kind detector" in description


@pytest.fixture(scope="module")
def registered_lake(unregistered_lake) -> LakePaths:
    paths = unregistered_lake
    eventlake_cli(
        paths.data_dir,
        *("devices", "add", str(NEW), "--kind", "detector", "--segment", "E40-01-1"),
        *("--lane", "2", "--latitude", "50.8746", "--longitude", "4.3847"),
    )
    eventlake_cli(
        paths.data_dir, "devices", "retire", str(SEEDED), "--kind", "detector", "--at", RETIRED_AT
    )
    dbt(paths, "build", "--full-refresh", *SELECT)
    return paths


def test_a_registered_detector_is_accepted_and_a_retired_one_quarantined(registered_lake) -> None:
    paths = registered_lake
    assert _quarantined(paths) == {(SEEDED, "device_retired"): 3}
    assert _accepted(paths) == {SEEDED: 3, NEW: 6}
    # the new detector is placed on its segment; road and direction are the segment's
    rows = query(
        paths,
        "select distinct segment_id, road, direction, lane from main_marts.fct_traffic_measurements"
        f" where location_id = {NEW}",
    )
    assert rows == [("E40-01-1", "E40", "towards Brugge", 2)]
    registry = query(
        paths,
        "select location_id, segment_id, road, lane, cast(latitude as varchar), registered_in,"
        " cast(retired_at as varchar) from main_staging.stg_device_registry__traffic_locations"
        f" where location_id in ({SEEDED}, {NEW}) order by 1",
    )
    assert registry == [
        (SEEDED, "E40-17-2", "E40", 3, "51.15330", "seed_and_registry_file", RETIRED_AT),
        (NEW, "E40-01-1", "E40", 2, "50.87460", "registry_file", None),
    ]


def test_a_hand_edited_row_with_bad_values_registers_nothing_new(registered_lake) -> None:
    """Unparseable values read as empty: no build fails, an unplaced detector stays unknown."""
    paths = registered_lake
    registry = paths.data_dir / "registry" / "traffic_locations.csv"
    text = registry.read_text()
    registry.write_text(text + "9002,NO-SUCH-SEGMENT,,,x,999,abc,,soon,\n12x,E40-01-1,,,,,,,,\n")
    dbt(paths, "build", *SELECT)
    ids = {
        location
        for (location,) in query(
            paths, "select location_id from main_staging.stg_device_registry__traffic_locations"
        )
    }
    assert NEW in ids and 9002 not in ids
    registry.write_text(text)
