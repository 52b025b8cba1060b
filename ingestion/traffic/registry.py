"""The measurement-location registry (``seeds/traffic_locations.csv``) for the simulator."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ingestion.settings import PROJECT_ROOT

DEFAULT_LOCATIONS_FILE = PROJECT_ROOT / "seeds" / "traffic_locations.csv"
# Directions that fill in the morning rush (towards the cities people commute to); the opposite
# direction of the same road fills in the evening.
CITY_BOUND = ("towards Brussel", "towards Antwerpen", "towards Gent")


@dataclass(frozen=True)
class MeasurementLocation:
    location_id: int
    segment_id: str
    road: str
    direction: str
    lane: int

    @property
    def city_bound(self) -> bool:
        return self.direction in CITY_BOUND


def load_locations(path: str | Path = DEFAULT_LOCATIONS_FILE) -> list[MeasurementLocation]:
    """Every location of the registry, ordered by id."""
    path = Path(path)
    wanted = {"location_id", "segment_id", "road", "direction", "lane"}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = wanted - set(reader.fieldnames or ())
        if missing:
            raise ValueError(
                f"{path} lacks columns {sorted(missing)}; point at seeds/traffic_locations.csv"
            )
        locations = [
            MeasurementLocation(
                int(row["location_id"]),
                row["segment_id"],
                row["road"],
                row["direction"],
                int(row["lane"]),
            )
            for row in reader
        ]
    if not locations:
        raise ValueError(f"{path} lists no locations; add at least one measurement location")
    return sorted(locations, key=lambda loc: loc.location_id)
