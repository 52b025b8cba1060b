"""Malformed sensor records, each breaking exactly one quarantine rule.

The staging SQL checks rules in the order of ``seeds/quarantine_reasons.csv`` and assigns the
first that fails. A record built here passes every other rule, so the count per reason the SQL
assigns must equal the count the simulator reports: a reconciliation a test can assert exactly.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import numpy as np

# The reasons a simulated record can carry (``empty_line`` is never emitted: Firehose drops
# nothing, but devices never send empty messages), in the seed's check order.
MALFORMED_REASONS = (
    "invalid_json",
    "missing_timestamp",
    "missing_room_id",
    "missing_temperature",
    "temperature_not_numeric",
    "timestamp_unparseable",
    "temperature_out_of_range",
    "timestamp_in_future",
    "unknown_room",
)
TEMPERATURE_MIN_C = -40.0
TEMPERATURE_MAX_C = 85.0
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
# Far enough ahead that any sane clock-skew allowance still flags it ("at least a day").
FUTURE_MIN = timedelta(days=2)
FUTURE_MAX = timedelta(days=30)
UNKNOWN_ROOM_CANDIDATES = ("ZZ99", "X000", "Q404", "Z999")
_OUT_OF_RANGE = (999.0, -273.15, 150.0, -40.5, 85.5)


def malformed_line(
    reason: str,
    *,
    timestamp: datetime,
    room_id: str,
    temperature: float,
    arrival: datetime,
    known_rooms: frozenset[str],
    rng: np.random.Generator,
) -> str:
    """One NDJSON line (no newline) that fails ``reason`` and no other rule.

    ``timestamp``, ``room_id`` and ``temperature`` are the valid reading being replaced; the
    breakage is chosen at random among realistic device and transport faults.
    """
    ts = f"{timestamp:{TIMESTAMP_FORMAT}}"
    record: dict[str, Any] = {"timestamp": ts, "room_id": room_id, "temperature": temperature}
    if reason == "invalid_json":
        return _invalid_json(record, rng)
    if reason in ("missing_timestamp", "missing_temperature"):
        name = reason.removeprefix("missing_")
        if rng.random() < 0.5:
            del record[name]
        else:
            record[name] = None
    elif reason == "missing_room_id":
        choice = int(rng.integers(3))
        if choice == 0:
            del record["room_id"]
        else:
            record["room_id"] = None if choice == 1 else ""
    elif reason == "temperature_not_numeric":
        record["temperature"] = _pick(
            rng,
            (f"{temperature}C", f"{temperature}", bool(rng.random() < 0.5), {"value": temperature}),
        )
    elif reason == "timestamp_unparseable":
        record["timestamp"] = _pick(
            rng,
            (
                "2026-13-45 25:61:00",
                "yesterday",
                f"{timestamp:%Y/%m/%d %H:%M:%S}",
                f"{timestamp:%Y-%m-%dT%H:%M:%SZ}",
            ),
        )
    elif reason == "temperature_out_of_range":
        record["temperature"] = _pick(rng, _OUT_OF_RANGE)
    elif reason == "timestamp_in_future":
        ahead = FUTURE_MIN + (FUTURE_MAX - FUTURE_MIN) * float(rng.random())
        future = (arrival + ahead).replace(microsecond=0) + timedelta(seconds=1)
        record["timestamp"] = f"{future:{TIMESTAMP_FORMAT}}"
    elif reason == "unknown_room":
        unknown = [r for r in UNKNOWN_ROOM_CANDIDATES if r not in known_rooms]
        if not unknown:
            raise ValueError(
                f"every candidate unknown room id {UNKNOWN_ROOM_CANDIDATES} is in the room list; "
                "remove one of them from the rooms to simulate unknown_room records"
            )
        record["room_id"] = _pick(rng, tuple(unknown))
    else:
        raise ValueError(
            f"unknown malformed reason {reason!r}; choose one of: {', '.join(MALFORMED_REASONS)}"
        )
    return json.dumps(record)


def _invalid_json(record: dict[str, Any], rng: np.random.Generator) -> str:
    """Text that is not a JSON object: cut off in transit, or a bare array or scalar."""
    full = json.dumps(record)
    choice = int(rng.integers(4))
    if choice <= 1:
        # Any strict, non-empty prefix of an object's text is broken JSON (no closing brace).
        return full[: int(rng.integers(1, len(full)))]
    if choice == 2:
        return json.dumps(list(record.values()))
    return json.dumps(record["room_id"] if rng.random() < 0.5 else record["temperature"])


def _pick(rng: np.random.Generator, options: tuple[Any, ...]) -> Any:
    return options[int(rng.integers(len(options)))]
