"""Malformed traffic measurements, each breaking exactly one quarantine rule.

The staging SQL checks the rules of domain ``traffic`` in ``seeds/quarantine_reasons.csv`` in
their check order and assigns the first that fails. A line built here passes every other rule,
so the count per reason the SQL assigns must equal the count the simulator reports.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

# In the seed's check order; ``empty_line`` is never emitted (Firehose drops nothing, and
# detectors never send empty messages), nor ``device_retired`` (the simulated detectors are
# active: tests/dbt_models/test_traffic_device_registry.py retires one).
TRAFFIC_MALFORMED_REASONS = (
    "invalid_json",
    "missing_location_id",
    "location_id_invalid",
    "missing_measured_at",
    "measured_at_invalid",
    "missing_measurement_field",
    "measurement_not_numeric",
    "speed_out_of_range",
    "vehicle_count_invalid",
    "occupancy_out_of_range",
    "measured_at_in_future",
    "unknown_location",
)
SPEED_FIELDS = tuple(f"voertuigsnelheid_rekenkundig_klasse{c}" for c in range(2, 6))
COUNT_FIELDS = tuple(f"verkeersintensiteit_klasse{c}" for c in range(2, 6))
OCCUPANCY_FIELD = "rekendata_bezettingsgraad"
MEASUREMENT_FIELDS = (*SPEED_FIELDS, *COUNT_FIELDS, OCCUPANCY_FIELD)
# The feed's speed codes for "no valid speed": no vehicles of the class passed, detector fault,
# no data. Any other value above the valid 0-250 km/h is an error (var traffic_speed_no_data_codes).
NO_DATA_SPEEDS = (252, 254, 255)
MAX_VALID_SPEED = 250
UNKNOWN_OCCUPANCY = -1
# Ids the registry never uses (it numbers locations 1-4600, like the Flemish feed).
UNKNOWN_LOCATION_IDS = (9001, 9999, 12345, 70000)


def malformed_measurement(
    reason: str, record: dict[str, Any], *, arrival: datetime, rng: np.random.Generator
) -> str:
    """One NDJSON line (no newline) that fails ``reason`` and no other rule.

    ``record`` is a valid measurement (the payload's fields); ``arrival`` is when it reaches the
    lake, so a "future" measurement can be made to claim a time well past it.
    """
    doc = dict(record)
    field = MEASUREMENT_FIELDS[int(rng.integers(len(MEASUREMENT_FIELDS)))]
    if reason == "invalid_json":
        text = json.dumps(doc)
        return text[: int(rng.integers(5, len(text) - 1))]
    if reason == "missing_location_id":
        doc.pop("unieke_id") if rng.random() < 0.5 else doc.update(unieke_id=None)
    elif reason == "location_id_invalid":
        doc["unieke_id"] = (str(doc["unieke_id"]), doc["unieke_id"] + 0.5)[int(rng.integers(2))]
    elif reason == "missing_measured_at":
        doc.pop("tijd_waarneming")
    elif reason == "measured_at_invalid":
        stamp = datetime.fromtimestamp(doc["tijd_waarneming"], UTC).strftime("%Y-%m-%dT%H:%M:%S")
        doc["tijd_waarneming"] = (stamp, str(doc["tijd_waarneming"]), -60)[int(rng.integers(3))]
    elif reason == "missing_measurement_field":
        doc.pop(field) if rng.random() < 0.5 else doc.update({field: None})
    elif reason == "measurement_not_numeric":
        doc[field] = str(doc[field])
    elif reason == "speed_out_of_range":
        doc[SPEED_FIELDS[int(rng.integers(4))]] = (251, 253, 300, -5)[int(rng.integers(4))]
    elif reason == "vehicle_count_invalid":
        doc[COUNT_FIELDS[int(rng.integers(4))]] = (-1, -7, 2.5)[int(rng.integers(3))]
    elif reason == "occupancy_out_of_range":
        doc[OCCUPANCY_FIELD] = (101, 140, -2)[int(rng.integers(3))]
    elif reason == "measured_at_in_future":
        ahead = timedelta(hours=float(rng.uniform(2, 48)))
        doc["tijd_waarneming"] = int((arrival + ahead).timestamp()) // 60 * 60
    elif reason == "unknown_location":
        doc["unieke_id"] = UNKNOWN_LOCATION_IDS[int(rng.integers(len(UNKNOWN_LOCATION_IDS)))]
    else:
        raise ValueError(
            f"unknown malformed reason {reason!r}; choose one of: "
            f"{', '.join(TRAFFIC_MALFORMED_REASONS)}"
        )
    return json.dumps(doc)
