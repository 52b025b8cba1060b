"""The traffic simulator: deterministic, realistic in shape, and its labels add up."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from ingestion.traffic import TrafficSimulationConfig, load_locations, simulate_traffic
from ingestion.traffic.malformed import MEASUREMENT_FIELDS, NO_DATA_SPEEDS, malformed_measurement

MONDAY = datetime(2026, 11, 16, tzinfo=UTC)  # a weekday in winter time (UTC+1 in Brussels)


def config(**overrides) -> TrafficSimulationConfig:
    fields = {
        "locations": load_locations()[:30],
        "start": MONDAY,
        "end": MONDAY + timedelta(days=1),
        "seed": 3,
    }
    fields.update(overrides)
    return TrafficSimulationConfig(**fields)


def measurements(result) -> list[dict]:
    return [json.loads(payload) for _, payload in result.records]


def test_same_config_same_records_and_arrivals_in_order() -> None:
    first, second = simulate_traffic(config()), simulate_traffic(config())
    assert first.records.payloads == second.records.payloads
    assert np.all(np.diff(first.records.arrivals_us) >= 0)
    assert len(first.records) == 30 * 24 * 60


def test_every_line_carries_the_feed_fields_with_minute_timestamps() -> None:
    rows = measurements(simulate_traffic(config()))
    expected = {"unieke_id", "tijd_waarneming", *MEASUREMENT_FIELDS}
    assert all(set(row) == expected for row in rows)
    assert all(row["tijd_waarneming"] % 60 == 0 for row in rows)
    speeds = [row["voertuigsnelheid_rekenkundig_klasse2"] for row in rows]
    assert all(0 <= s <= 250 or s in NO_DATA_SPEEDS for s in speeds)


def test_city_bound_morning_rush_is_slower_than_the_night() -> None:
    # the city-bound detectors, from midnight to the end of the morning rush (08:00 local)
    city_bound = [loc for loc in load_locations() if loc.city_bound]
    result = simulate_traffic(config(locations=city_bound, end=MONDAY + timedelta(hours=8)))
    locations = {loc.location_id: loc for loc in city_bound}
    rush, night = [], []
    for row in measurements(result):
        location = locations[row["unieke_id"]]
        speed = row["voertuigsnelheid_rekenkundig_klasse2"]
        if not location.city_bound or speed > 250:
            continue
        local_hour = (row["tijd_waarneming"] // 3600 + 1) % 24  # Brussels is UTC+1 in November
        if local_hour == 8:
            rush.append(speed)
        elif local_hour in (2, 3):
            night.append(speed)
    assert np.mean(rush) < np.mean(night) - 15
    assert min(rush) <= 40  # some segments jam


def test_faults_are_counted_and_late_lines_cross_hours() -> None:
    result = simulate_traffic(
        config(
            malformed_fraction=0.02,
            duplicate_fraction=0.01,
            dropout_fraction=0.02,
            no_data_fraction=0.01,
            late_fraction=0.01,
        )
    )
    sent = result.valid_count + sum(result.malformed_counts.values())
    assert len(result.records) == sent + result.duplicate_count
    assert result.dropped_count + sent == 30 * 24 * 60
    assert min(result.malformed_counts.values()) > 0
    assert result.late_count > 0 and result.cross_hour_count > result.late_count
    no_data = sum('"rekendata_bezettingsgraad": -1}' in line for line in result.records.payloads)
    assert no_data >= result.no_data_count > 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"locations": []}, "locations is empty"),
        ({"start": datetime(2026, 11, 16)}, "timezone-aware"),
        ({"start": MONDAY + timedelta(seconds=30)}, "whole minute"),
        ({"end": MONDAY}, "must be after start"),
        ({"late_fraction": 1.5}, "late_fraction"),
        ({"arrivals_not_after": MONDAY}, "arrivals_not_after"),
    ],
)
def test_bad_configs_say_what_to_fix(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config(**overrides)


def test_unknown_malformed_reason_lists_the_choices() -> None:
    record = {"unieke_id": 1, "tijd_waarneming": 1_800_000_000}
    with pytest.raises(ValueError, match="choose one of: invalid_json"):
        malformed_measurement("nope", record, arrival=MONDAY, rng=np.random.default_rng(0))
