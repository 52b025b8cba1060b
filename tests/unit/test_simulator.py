"""The sensor simulator: realistic, deterministic, and labelled exactly."""

from __future__ import annotations

import csv
import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingestion.sensors import (
    ANOMALY_TYPES,
    MALFORMED_REASONS,
    SimulationConfig,
    SimulationResult,
    load_room_ids,
    simulate,
    write_ground_truth,
)

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
ROOMS = load_room_ids(SEEDS / "rooms.csv")
START = datetime(2026, 3, 2, tzinfo=UTC)
VALID_LINE = re.compile(
    r'^\{"timestamp": "\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", "room_id": "[A-Z]\d{3}", '
    r'"temperature": -?\d+\.\d{1,2}\}$'
)
CLOCK_SKEW = timedelta(minutes=5)
_MISSING = object()


def config(**overrides: Any) -> SimulationConfig:
    values: dict[str, Any] = {
        "rooms": ROOMS[:5],
        "start": START,
        "end": START + timedelta(days=1),
        "seed": 42,
    }
    values.update(overrides)
    return SimulationConfig(**values)


# --- a reference validator mirroring seeds/quarantine_reasons.csv -----------------------------
# Each rule returns True (fails), False (passes) or None (cannot be evaluated because a field it
# needs is already broken). The SQL assigns the first failing rule in check_order.


def _field(record: Any, key: str) -> Any:
    return record.get(key, _MISSING) if isinstance(record, dict) else _MISSING


def _parse_ts(value: Any) -> datetime | None:
    if not isinstance(value, str) or not re.fullmatch(
        r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", value
    ):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


MAX_LINE_BYTES = 2_097_152  # dbt_project.yml: raw_default_max_line_bytes
_BARE_SIGN = re.compile(r"[:\[,]\s*(\+|-(?![0-9]))")
_TRAILING_COMMA = re.compile(r",\s*[}\]]")


def _has_non_finite_number(line: str) -> bool:
    """NaN, Infinity or a number that overflows a double (1e400)."""

    def refuse(token: str) -> float:
        raise OverflowError(token)

    def checked(token: str) -> float:
        value = float(token)
        if math.isinf(value):
            raise OverflowError(token)
        return value

    try:
        json.loads(line, parse_constant=refuse, parse_float=checked)
    except OverflowError:
        return True
    except ValueError:
        return False
    return False


def _has_duplicate_key(line: str) -> bool:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in items]
        if len(keys) != len(set(keys)):
            raise KeyError("duplicate")
        return dict(items)

    try:
        json.loads(line, object_pairs_hook=pairs)
    except KeyError:
        return True
    except ValueError:
        return False
    return False


def _rules(
    rooms: set[str], retired: dict[str, datetime] | None = None
) -> dict[str, Callable[[str, Any, datetime], bool | None]]:
    retired = retired or {}

    def parsed(rec: Any) -> bool:
        return isinstance(rec, dict)

    def ts_ok(rec: Any) -> bool:
        return parsed(rec) and _field(rec, "timestamp") not in (_MISSING, None)

    def temp_present(rec: Any) -> bool:
        return parsed(rec) and _field(rec, "temperature") not in (_MISSING, None)

    # The object-level reasons (empty_object, bad_compression, not_utf8, unreadable_object) are
    # about the bytes of a whole object; a simulated line is already decoded text in a good one.
    def object_level(line: str, rec: Any, arrival: datetime) -> bool:
        return False

    return {
        "empty_object": object_level,
        "bad_compression": object_level,
        "not_utf8": object_level,
        "unreadable_object": object_level,
        "line_too_long": lambda line, rec, arrival: len(line.encode()) > MAX_LINE_BYTES,
        "non_finite_number": lambda line, rec, arrival: _has_non_finite_number(line),
        "number_with_bare_sign": lambda line, rec, arrival: bool(_BARE_SIGN.search(line)),
        "trailing_comma": lambda line, rec, arrival: bool(_TRAILING_COMMA.search(line)),
        "duplicate_key": lambda line, rec, arrival: _has_duplicate_key(line),
        "empty_line": lambda line, rec, arrival: not line.strip(),
        "invalid_json": lambda line, rec, arrival: bool(line.strip()) and not parsed(rec),
        "missing_timestamp": lambda line, rec, arrival: (
            _field(rec, "timestamp") in (_MISSING, None) if parsed(rec) else None
        ),
        "missing_room_id": lambda line, rec, arrival: (
            _field(rec, "room_id") in (_MISSING, None, "") if parsed(rec) else None
        ),
        "missing_temperature": lambda line, rec, arrival: (
            _field(rec, "temperature") in (_MISSING, None) if parsed(rec) else None
        ),
        "temperature_not_numeric": lambda line, rec, arrival: (
            not _is_number(rec["temperature"]) if temp_present(rec) else None
        ),
        "timestamp_unparseable": lambda line, rec, arrival: (
            _parse_ts(rec["timestamp"]) is None if ts_ok(rec) else None
        ),
        "temperature_out_of_range": lambda line, rec, arrival: (
            not -40 <= rec["temperature"] <= 85
            if temp_present(rec) and _is_number(rec["temperature"])
            else None
        ),
        "timestamp_in_future": lambda line, rec, arrival: (
            _parse_ts(rec["timestamp"]) > arrival + CLOCK_SKEW
            if ts_ok(rec) and _parse_ts(rec["timestamp"])
            else None
        ),
        "unknown_room": lambda line, rec, arrival: (
            rec["room_id"] not in rooms
            if parsed(rec) and _field(rec, "room_id") not in (_MISSING, None, "")
            else None
        ),
        # A reading taken at or after its room's retirement (the simulated rooms are active).
        "device_retired": lambda line, rec, arrival: (
            _parse_ts(rec["timestamp"]) >= retired[rec["room_id"]]
            if ts_ok(rec) and _parse_ts(rec["timestamp"]) and _field(rec, "room_id") in retired
            else None
        ),
    }


def failing_rules(line: str, arrival: datetime, rooms: set[str]) -> list[str]:
    """Every rule the line fails, in the seed's check order; the first is the SQL's reason."""
    with open(SEEDS / "quarantine_reasons.csv", newline="") as handle:
        seeded = [r for r in csv.DictReader(handle) if r["domain"] == "temperature"]
        order = [r["reason"] for r in sorted(seeded, key=lambda r: int(r["check_order"]))]
    rules = _rules(rooms)
    assert set(order) == set(rules), "the reference validator is out of date with the seed"
    try:
        record = json.loads(line)
    except ValueError:
        record = _MISSING
    return [reason for reason in order if rules[reason](line, record, arrival) is True]


def readings(result: SimulationResult) -> dict[tuple[str, str], float]:
    """(room, timestamp) -> temperature for the valid lines."""
    out = {}
    for _, line in result.records:
        rec = json.loads(line)
        out[(rec["room_id"], rec["timestamp"])] = rec["temperature"]
    return out


# --- tests ---------------------------------------------------------------------------------


def test_load_room_ids_reads_the_registry_seed() -> None:
    assert len(ROOMS) == 20
    assert ROOMS[0] == "A101"


def test_same_seed_same_records_different_seed_different_records() -> None:
    cfg = config(
        malformed_fraction=0.05, anomalies=True, dropout_fraction=0.02, duplicate_fraction=0.02
    )
    first, second = simulate(cfg), simulate(cfg)
    assert first.records.payloads == second.records.payloads
    assert np.array_equal(first.records.arrivals_us, second.records.arrivals_us)
    assert first.episodes == second.episodes
    assert first.malformed_labels == second.malformed_labels
    other = simulate(config(seed=43, malformed_fraction=0.05, anomalies=True))
    assert other.records.payloads != first.records.payloads


def test_clean_run_has_one_reading_per_room_per_cadence_in_the_seed_format() -> None:
    cfg = config(cadence=timedelta(seconds=30), end=START + timedelta(hours=6))
    result = simulate(cfg)
    assert len(result.records) == 5 * 6 * 120 == result.valid_count
    assert result.duplicate_count == 0 and sum(result.malformed_counts.values()) == 0
    per_room: dict[str, list[datetime]] = {}
    for arrival, line in result.records:
        assert VALID_LINE.match(line), line
        rec = json.loads(line)
        assert list(rec) == ["timestamp", "room_id", "temperature"]
        assert round(rec["temperature"], 2) == rec["temperature"]
        ts = datetime.strptime(rec["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        assert ts <= arrival <= ts + timedelta(minutes=1)  # simulated delivery delay
        per_room.setdefault(rec["room_id"], []).append(ts)
    assert sorted(per_room) == sorted(ROOMS[:5])
    for stamps in per_room.values():
        stamps.sort()
        assert stamps[0] == START and stamps[-1] < cfg.end
        assert {b - a for a, b in itertools.pairwise(stamps)} == {cfg.cadence}


def test_records_are_sorted_by_arrival_and_arrivals_are_utc() -> None:
    result = simulate(config(duplicate_fraction=0.05, late_fraction=0.05))
    arrivals = [a for a, _ in result.records]
    assert arrivals == sorted(arrivals)
    assert all(a.tzinfo is not None and a.utcoffset() == timedelta(0) for a in arrivals)


def test_malformed_counts_match_the_fraction_and_every_record_is_labelled() -> None:
    result = simulate(config(malformed_fraction=0.09))
    total = len(result.records)
    malformed = sum(result.malformed_counts.values())
    assert malformed == round(0.09 * total)
    assert set(result.malformed_counts) == set(MALFORMED_REASONS)
    assert min(result.malformed_counts.values()) >= malformed // len(MALFORMED_REASONS)
    assert Counter(result.malformed_labels.values()) == result.malformed_counts
    assert result.valid_count + malformed == total
    assert all(line.strip() for line in result.records.payloads), "no empty lines"


def test_each_malformed_record_fails_exactly_its_own_rule() -> None:
    result = simulate(config(malformed_fraction=0.2, duplicate_fraction=0.05, seed=7))
    rooms = set(ROOMS[:5])
    seen = Counter()
    for position, (arrival, line) in enumerate(result.records):
        label = result.malformed_labels.get(position)
        failures = failing_rules(line, arrival, rooms)
        assert failures == ([label] if label else []), (label, line)
        seen[failures[0] if failures else "valid"] += 1
    assert {k: v for k, v in seen.items() if k != "valid"} == result.malformed_counts
    assert seen["valid"] == result.valid_count + result.duplicate_count


def test_reference_validator_rejects_the_documented_bad_timestamps() -> None:
    arrival = START
    for ts in ("2026-13-45 25:61:00", "yesterday", "2026/11/01 10:00:00", "2026-11-01T10:00:00Z"):
        line = json.dumps({"timestamp": ts, "room_id": "A101", "temperature": 21.5})
        assert failing_rules(line, arrival, {"A101"}) == ["timestamp_unparseable"]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            '{"timestamp": "2026-11-01 10:00:00", "room_id": "A101", "temperature": NaN}',
            "non_finite_number",
        ),
        (
            '{"timestamp": "2026-11-01 10:00:00", "room_id": "A101", "temperature": 1e400}',
            "non_finite_number",
        ),
        (
            '{"timestamp": "2026-11-01 10:00:00", "room_id": "A101", "temperature": +1}',
            "number_with_bare_sign",
        ),
        (
            '{"timestamp": "2026-11-01 10:00:00", "room_id": "A101", "temperature": 21.5,}',
            "trailing_comma",
        ),
        (
            '{"timestamp": "2026-11-01 10:00:00", "room_id": "A101", "temperature": 1, '
            '"temperature": 2}',
            "duplicate_key",
        ),
    ],
)
def test_reference_validator_names_the_strict_json_reasons_first(line: str, reason: str) -> None:
    assert failing_rules(line, START, {"A101"})[0] == reason


def test_duplicates_are_later_copies_of_valid_records() -> None:
    result = simulate(config(duplicate_fraction=0.05, malformed_fraction=0.05))
    # Malformed lines may coincide by chance (a bare "A101"), so count copies of valid lines.
    valid = [
        (arrival, line)
        for position, (arrival, line) in enumerate(result.records)
        if position not in result.malformed_labels
    ]
    counts = Counter(line for _, line in valid)
    repeated = {line for line, n in counts.items() if n > 1}
    assert sum(counts[line] - 1 for line in repeated) == result.duplicate_count
    assert result.duplicate_count == round(0.05 * result.valid_count)
    assert all(counts[line] == 2 for line in repeated)
    first_seen: dict[str, datetime] = {}
    for arrival, line in valid:
        if line in first_seen:
            assert arrival > first_seen[line]
        first_seen.setdefault(line, arrival)
    assert len(result.records) == (
        result.valid_count + result.duplicate_count + sum(result.malformed_counts.values())
    )


def test_dropouts_leave_short_gaps() -> None:
    cfg = config(dropout_fraction=0.05)
    result = simulate(cfg)
    scheduled = 5 * cfg.steps
    assert result.dropped_count == scheduled - len(result.records)
    assert 0.03 * scheduled < result.dropped_count < 0.06 * scheduled
    per_room: dict[str, list[datetime]] = {}
    for _, line in result.records:
        rec = json.loads(line)
        ts = datetime.strptime(rec["timestamp"], "%Y-%m-%d %H:%M:%S")
        per_room.setdefault(rec["room_id"], []).append(ts)
    gaps = [
        (b - a) // cfg.cadence - 1
        for stamps in per_room.values()
        for a, b in zip(sorted(stamps), sorted(stamps)[1:], strict=False)
        if b - a > cfg.cadence
    ]
    assert gaps and max(gaps) <= 20  # short gaps (overlapping gaps may merge), not outages


def test_late_records_arrive_minutes_to_hours_after_the_event() -> None:
    result = simulate(config(late_fraction=0.1))
    delays = []
    for arrival, line in result.records:
        ts = datetime.strptime(json.loads(line)["timestamp"], "%Y-%m-%d %H:%M:%S")
        delays.append(arrival - ts.replace(tzinfo=UTC))
    late = [d for d in delays if d > timedelta(seconds=60)]
    assert len(late) == result.late_count == round(0.1 * len(result.records))
    assert min(late) >= timedelta(minutes=2) and max(late) <= timedelta(hours=6)


def test_anomalies_are_labelled_and_visible_against_the_same_physics() -> None:
    cfg = config(end=START + timedelta(days=14))
    clean, dirty = simulate(cfg), simulate(config(end=cfg.end, anomalies=True))
    assert simulate(config(end=cfg.end, anomalies=False)).episodes == []
    kinds = Counter(e.anomaly_type for e in dirty.episodes)
    assert set(kinds) == set(ANOMALY_TYPES)
    # ~3 per type per room per week: 5 rooms x 2 weeks x 3 = 30 expected per type
    assert all(15 <= n <= 50 for n in kinds.values()), kinds
    before, after = readings(clean), readings(dirty)
    touched: set[tuple[str, str]] = set()
    for e in dirty.episodes:
        keys = [
            (e.room_id, f"{e.start + i * cfg.cadence:%Y-%m-%d %H:%M:%S}")
            for i in range((e.end - e.start) // cfg.cadence + 1)
        ]
        touched.update(keys)
        if e.anomaly_type == "spike":
            assert len(keys) == 1 and 6 <= abs(e.magnitude) <= 15
            assert after[keys[0]] - before[keys[0]] == pytest.approx(e.magnitude, abs=0.011)
        elif e.anomaly_type == "level_shift":
            assert timedelta(hours=1) <= e.end - e.start + cfg.cadence <= timedelta(hours=6)
            shifts = [after[k] - before[k] for k in keys]
            assert all(s == pytest.approx(e.magnitude, abs=0.011) for s in shifts)
            assert 3 <= e.magnitude <= 6
        else:
            assert timedelta(hours=1) <= e.end - e.start + cfg.cadence <= timedelta(hours=6)
            assert {after[k] for k in keys} == {e.magnitude}  # exactly the same value repeated
    untouched = set(before) - touched
    assert all(before[k] == after[k] for k in untouched)


def test_episodes_of_a_room_never_overlap() -> None:
    result = simulate(config(end=START + timedelta(days=14), anomalies=6.0))
    by_room: dict[str, list[tuple[datetime, datetime]]] = {}
    for e in result.episodes:
        by_room.setdefault(e.room_id, []).append((e.start, e.end))
    for spans in by_room.values():
        spans.sort()
        assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))


def test_daily_cycle_is_warmer_in_the_afternoon() -> None:
    result = simulate(config(end=START + timedelta(days=7)))
    by_hour: dict[int, list[float]] = {}
    for _, line in result.records:
        rec = json.loads(line)
        by_hour.setdefault(int(rec["timestamp"][11:13]), []).append(rec["temperature"])
    mean = {h: float(np.mean(v)) for h, v in by_hour.items()}
    afternoon = np.mean([mean[h] for h in (13, 14, 15, 16)])
    night = np.mean([mean[h] for h in (1, 2, 3, 4)])
    assert afternoon - night > 1.5
    assert all(18 - 4 < t < 24 + 4 for t in mean.values())


def test_ground_truth_csv_is_written_atomically(tmp_path: Path) -> None:
    result = simulate(config(end=START + timedelta(days=7), anomalies=True))
    path = write_ground_truth(result.episodes, tmp_path / "labels" / "episodes.csv")
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(result.episodes) > 0
    assert list(rows[0]) == ["room_id", "anomaly_type", "start", "end", "magnitude"]
    first = result.episodes[0]
    assert rows[0]["start"] == f"{first.start:%Y-%m-%d %H:%M:%S}"
    assert float(rows[0]["magnitude"]) == first.magnitude
    assert [p.name for p in path.parent.iterdir() if p.is_file()] == ["episodes.csv"]
    assert not any((path.parent / ".staging").iterdir())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"start": datetime(2026, 3, 2)}, "timezone-aware"),
        ({"end": START}, "must be after start"),
        ({"cadence": timedelta(milliseconds=1500)}, "whole number of seconds"),
        ({"rooms": []}, "rooms is empty"),
        ({"rooms": ["A101", 'B"1']}, "letters, digits"),
        ({"malformed_fraction": 1.5}, "malformed_fraction"),
    ],
)
def test_bad_config_says_what_to_fix(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config(**overrides)


def test_arrivals_are_capped_without_losing_or_reordering_records() -> None:
    free = simulate(config(late_fraction=0.2, duplicate_fraction=0.05))
    cap = free.config.end
    capped = simulate(config(late_fraction=0.2, duplicate_fraction=0.05, arrivals_not_after=cap))
    cap_us = int(cap.timestamp() * 1_000_000)
    assert free.records.arrivals_us.max() > cap_us  # the cap has something to do
    assert capped.records.arrivals_us.max() == cap_us
    assert np.all(np.diff(capped.records.arrivals_us) >= 0)
    assert sorted(capped.records.payloads) == sorted(free.records.payloads)


def test_arrival_cap_before_the_end_is_refused() -> None:
    base = config()
    with pytest.raises(ValueError, match="arrivals_not_after"):
        config(arrivals_not_after=base.end - timedelta(seconds=1))


def test_a_feed_with_the_live_physics_seed_continues_the_live_rooms() -> None:
    """History simulated with the live feed's physics_seed: same room levels, other noise."""
    live = readings(simulate(config(end=START + timedelta(days=2))))
    earlier = START - timedelta(days=2)
    same = readings(
        simulate(config(start=earlier, end=START + timedelta(days=2), seed=43, physics_seed=42))
    )
    other = readings(simulate(config(start=earlier, end=START + timedelta(days=2), seed=43)))
    for room in ROOMS[:5]:
        keys = [k for k in live if k[0] == room]
        live_mean = np.mean([live[k] for k in keys])
        # The overlapping two days: the same daily mean within the noise, never the same values.
        assert abs(np.mean([same[k] for k in keys]) - live_mean) < 0.05
        assert sum(same[k] == live[k] for k in keys) < len(keys) / 4
    # Other physics (the old demo's history): some room's level moves by degrees.
    shifts = [
        abs(
            np.mean([other[k] for k in live if k[0] == r])
            - np.mean([live[k] for k in live if k[0] == r])
        )
        for r in ROOMS[:5]
    ]
    assert max(shifts) > 1.0
    # physics_seed equal to seed changes nothing.
    assert readings(simulate(config(physics_seed=42))) == readings(simulate(config()))
