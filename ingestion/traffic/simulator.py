"""Simulated traffic detectors with the Flemish feed's field names, a minute per measurement.

Each measurement is one NDJSON line::

    {"unieke_id": 32, "tijd_waarneming": 1763625600,
     "voertuigsnelheid_rekenkundig_klasse2": 112, ... "klasse5": 84,
     "verkeersintensiteit_klasse2": 21, ... "klasse5": 2, "rekendata_bezettingsgraad": 6}

``tijd_waarneming`` is the measurement minute in epoch seconds (UTC); speeds are the mean km/h
per vehicle class (2 cars, 3 vans, 4 rigid trucks, 5 articulated trucks), counts the vehicles
per class in that minute, occupancy the percentage of time a vehicle was over the loop. Morning
and evening jams follow Brussels local time on weekdays. The feed's no-data codes appear where
the real feed has them: 252 when no vehicle of the class passed, 254 for a detector fault, 255
(with occupancy -1) when the detector reported no data at all.

Arrival is what Firehose sees: a minute of aggregation plus a delivery delay that is mostly
seconds, sometimes minutes, and for ``late_fraction`` of the measurements hours (roadside units
that were offline), so event time and arrival time fall in different hour partitions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.gaps import gap_mask
from ingestion.sensors.simulator import ArrivalOrderedRecords
from ingestion.traffic.malformed import (
    COUNT_FIELDS,
    MEASUREMENT_FIELDS,
    OCCUPANCY_FIELD,
    SPEED_FIELDS,
    TRAFFIC_MALFORMED_REASONS,
    UNKNOWN_OCCUPANCY,
    malformed_measurement,
)
from ingestion.traffic.registry import MeasurementLocation

LOCAL_ZONE = ZoneInfo("Europe/Brussels")
NO_VEHICLES, DETECTOR_FAULT, NO_DATA = 252, 254, 255
_AGGREGATION_S = 60  # a measurement is sent when its minute closes
_DELAY_MEDIAN_S = 20.0
_DELAY_MAX_S = 600.0
_MINUTES_LATE_FRACTION = 0.03  # buffered for minutes by the roadside unit
_LATE_MIN_S, _LATE_MAX_S = 3_600.0, 36 * 3_600.0  # late_fraction: hours late
_DUPLICATE_MIN_S, _DUPLICATE_MAX_S = 1.0, 300.0
_DROPOUT_MAX_MINUTES = 30
_FAULT_FRACTION = 0.002


@dataclass(frozen=True)
class TrafficSimulationConfig:
    """What to simulate; the same config always yields the same records.

    ``dropout_fraction`` of the scheduled minutes are never sent (gaps of 1-30 minutes),
    ``no_data_fraction`` are sent with no-data codes, ``malformed_fraction`` of the sent ones are
    replaced by malformed lines, ``duplicate_fraction`` of the valid ones are delivered twice
    (Firehose is at-least-once) and ``late_fraction`` arrive hours late.
    """

    locations: Sequence[MeasurementLocation]
    start: datetime
    end: datetime
    seed: int = 0
    malformed_fraction: float = 0.0
    duplicate_fraction: float = 0.0
    dropout_fraction: float = 0.0
    no_data_fraction: float = 0.0
    late_fraction: float = 0.0
    # Nothing arrives after "now": later deliveries are held back to this instant.
    arrivals_not_after: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "locations", tuple(self.locations))
        if not self.locations:
            raise ValueError("locations is empty; pass load_locations() or a part of it")
        ids = [loc.location_id for loc in self.locations]
        if len(set(ids)) != len(ids):
            raise ValueError("locations has duplicate ids; each detector reports once a minute")
        for name in ("start", "end"):
            value = getattr(self, name)
            if value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware, e.g. datetime(..., tzinfo=UTC)")
            if value.second or value.microsecond:
                raise ValueError(f"{name} must be a whole minute; the feed reports per minute")
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        for name in (
            "malformed_fraction",
            "duplicate_fraction",
            "dropout_fraction",
            "no_data_fraction",
            "late_fraction",
        ):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if self.arrivals_not_after is not None and self.arrivals_not_after < self.end:
            raise ValueError("arrivals_not_after must not be before end")

    @property
    def minutes(self) -> int:
        return math.ceil((self.end - self.start).total_seconds() / 60)


@dataclass(frozen=True)
class TrafficSimulationResult:
    """The stream and its labels: sent = valid + malformed, records = sent + duplicates."""

    records: ArrivalOrderedRecords
    malformed_counts: dict[str, int]
    valid_count: int
    duplicate_count: int
    dropped_count: int
    no_data_count: int
    late_count: int
    # measurements whose arrival hour differs from their measurement hour (distinct ones)
    cross_hour_count: int
    config: TrafficSimulationConfig | None = field(default=None, repr=False)


def simulate_traffic(config: TrafficSimulationConfig) -> TrafficSimulationResult:
    """Simulate every location's detector over ``[config.start, config.end)``."""
    streams = np.random.SeedSequence(config.seed).spawn(6)
    physics_rng, dropout_rng, nodata_rng, malformed_rng, delay_rng, duplicate_rng = (
        np.random.default_rng(s) for s in streams
    )
    locations = config.locations
    n_loc, n_min = len(locations), config.minutes
    minute_s = int(config.start.timestamp()) + 60 * np.arange(n_min, dtype=np.int64)

    speeds, counts, occupancy = _physics(locations, minute_s, physics_rng)
    no_data = nodata_rng.random((n_loc, n_min)) < config.no_data_fraction
    speeds[:, no_data] = NO_DATA
    counts[:, no_data] = 0
    occupancy[no_data] = UNKNOWN_OCCUPANCY

    sent = ~gap_mask(n_loc, n_min, config.dropout_fraction, _DROPOUT_MAX_MINUTES, dropout_rng)
    loc_idx, min_idx = np.nonzero(sent)
    n = loc_idx.size
    event_s = minute_s[min_idx]
    arrivals, n_late = _arrivals(event_s, config.late_fraction, delay_rng)

    ids = np.array([loc.location_id for loc in locations], dtype=np.int64)
    columns = [ids[loc_idx], event_s]
    columns += [speeds[c, loc_idx, min_idx] for c in range(4)]
    columns += [counts[c, loc_idx, min_idx] for c in range(4)]
    columns.append(occupancy[loc_idx, min_idx])
    lines = _format(columns)

    n_malformed = round(config.malformed_fraction * n)
    malformed_idx = np.sort(malformed_rng.choice(n, n_malformed, replace=False))
    reasons = malformed_rng.permutation(np.arange(n_malformed) % len(TRAFFIC_MALFORMED_REASONS))
    malformed_counts = dict.fromkeys(TRAFFIC_MALFORMED_REASONS, 0)
    names = ("unieke_id", "tijd_waarneming", *MEASUREMENT_FIELDS)
    for i, code in zip(malformed_idx.tolist(), reasons.tolist(), strict=True):
        reason = TRAFFIC_MALFORMED_REASONS[code]
        malformed_counts[reason] += 1
        record = {name: int(column[i]) for name, column in zip(names, columns, strict=True)}
        arrival = datetime.fromtimestamp(int(arrivals[i]) / 1e6, UTC)
        lines[i] = malformed_measurement(reason, record, arrival=arrival, rng=malformed_rng)

    valid = np.ones(n, dtype=bool)
    valid[malformed_idx] = False
    valid_idx = np.flatnonzero(valid)
    n_dup = round(config.duplicate_fraction * valid_idx.size)
    dup_src = np.sort(duplicate_rng.choice(valid_idx, n_dup, replace=False))
    dup_delay = duplicate_rng.uniform(_DUPLICATE_MIN_S, _DUPLICATE_MAX_S, n_dup) * 1e6
    all_arrivals = np.concatenate([arrivals, arrivals[dup_src] + dup_delay.astype(np.int64)])
    if config.arrivals_not_after is not None:
        cap_us = int(config.arrivals_not_after.timestamp() * 1_000_000)
        np.minimum(all_arrivals, cap_us, out=all_arrivals)
    source = np.concatenate([np.arange(n, dtype=np.int64), dup_src])
    order = np.argsort(all_arrivals, kind="stable")
    cross_hour = (arrivals[valid_idx] // 3_600_000_000) != (event_s[valid_idx] // 3_600)
    return TrafficSimulationResult(
        records=ArrivalOrderedRecords(
            all_arrivals[order], [lines[i] for i in source[order].tolist()]
        ),
        malformed_counts=malformed_counts,
        valid_count=int(valid_idx.size),
        duplicate_count=n_dup,
        dropped_count=int(n_loc * n_min - n),
        no_data_count=int(no_data[loc_idx, min_idx].sum()),
        late_count=n_late,
        cross_hour_count=int(cross_hour.sum()),
        config=config,
    )


def _local_hours(minute_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Brussels local hour of day (fractional) and whether the local day is a weekday."""
    hour_starts = np.unique(minute_s // 3_600) * 3_600
    offsets = {
        int(h): int(datetime.fromtimestamp(int(h), LOCAL_ZONE).utcoffset().total_seconds())
        for h in hour_starts
    }
    offset = np.array([offsets[int(h)] for h in (minute_s // 3_600) * 3_600], dtype=np.int64)
    local = minute_s + offset
    weekday = ((local // 86_400) + 3) % 7 < 5  # 1970-01-01 was a Thursday
    return (local % 86_400) / 3_600.0, weekday


def _physics(
    locations: Sequence[MeasurementLocation], minute_s: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Speeds (4 x L x T, km/h or codes), counts (4 x L x T) and occupancy (L x T, %)."""
    n_loc, n_min = len(locations), minute_s.size
    hour, weekday = _local_hours(minute_s)
    segments = sorted({loc.segment_id for loc in locations})
    seg_of = np.array([segments.index(loc.segment_id) for loc in locations])
    jams = rng.random(len(segments)) < 0.6
    severity = np.where(jams, rng.uniform(0.4, 1.0, len(segments)), 0.0)[seg_of]
    city_bound = np.array([loc.city_bound for loc in locations])
    peak = np.where(
        city_bound,
        rng.normal(8.0, 0.3, len(segments))[seg_of],
        rng.normal(17.5, 0.4, len(segments))[seg_of],
    )
    width = rng.uniform(0.5, 0.9, len(segments))[seg_of]
    rush = np.exp(-0.5 * ((hour[None, :] - peak[:, None]) / width[:, None]) ** 2) * weekday
    slowdown = 0.85 * severity[:, None] * rush
    lane = np.array([loc.lane for loc in locations])
    free_flow = rng.normal(118.0, 5.0, n_loc) - 6.0 * (lane - 1)

    car_speed = free_flow[:, None] * (1.0 - slowdown) + rng.normal(0.0, 4.0, (n_loc, n_min))
    np.clip(car_speed, 5.0, 160.0, out=car_speed)
    daytime = 1.0 / (1.0 + np.exp(-(hour - 6.0) * 2.0)) - 1.0 / (1.0 + np.exp(-(hour - 22.0) * 2.0))
    car_rate = (3.0 + 15.0 * daytime)[None, :] + 10.0 * rush
    car_rate *= 0.6 + 0.4 * (car_speed / free_flow[:, None]).clip(0.0, 1.0)
    shares = (1.0, 0.12, 0.05, 0.07)
    counts = np.stack([rng.poisson(car_rate * share) for share in shares])
    truck_noise = rng.normal(0.0, 2.5, (3, n_loc, n_min))
    speeds = np.stack(
        [
            car_speed,
            car_speed - 3.0 + truck_noise[0],
            np.minimum(car_speed, 90.0) - 4.0 + truck_noise[1],
            np.minimum(car_speed, 87.0) - 6.0 + truck_noise[2],
        ]
    )
    speeds = np.rint(speeds.clip(3.0, 250.0)).astype(np.int64)
    speeds[counts == 0] = NO_VEHICLES
    faults = rng.random(counts.shape) < _FAULT_FRACTION
    speeds[faults] = DETECTOR_FAULT
    metres = counts[0] * 4.5 + counts[1] * 6.0 + (counts[2] + counts[3]) * 16.0
    occupancy = np.rint(100.0 * metres / (car_speed / 3.6 * 60.0)).clip(0, 100).astype(np.int64)
    return speeds, counts, occupancy


def _arrivals(
    event_s: np.ndarray, late_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """Arrival times in epoch microseconds, and how many are hours late."""
    n = event_s.size
    delay = np.exp(rng.normal(np.log(_DELAY_MEDIAN_S), 0.7, n)).clip(0.5, _DELAY_MAX_S)
    minutes_late = rng.random(n) < _MINUTES_LATE_FRACTION
    delay[minutes_late] = rng.uniform(120.0, 3_600.0, int(minutes_late.sum()))
    n_late = round(late_fraction * n)
    if n_late:
        late = rng.choice(n, n_late, replace=False)
        delay[late] = np.exp(rng.uniform(np.log(_LATE_MIN_S), np.log(_LATE_MAX_S), n_late))
    arrivals = (event_s + _AGGREGATION_S) * 1_000_000 + (delay * 1e6).astype(np.int64)
    return arrivals, n_late


def _format(columns: list[np.ndarray]) -> list[str]:
    """The payload lines, joined column-wise in Arrow (a Python loop would take ~10 s per 5M)."""
    names = ("unieke_id", "tijd_waarneming", *SPEED_FIELDS, *COUNT_FIELDS, OCCUPANCY_FIELD)
    pieces: list[pa.Array | str] = []
    for i, (name, column) in enumerate(zip(names, columns, strict=True)):
        pieces.append(("{" if i == 0 else ", ") + f'"{name}": ')
        pieces.append(pc.cast(pa.array(column), pa.string()))
    pieces.append("}")
    return pc.binary_join_element_wise(*pieces, "").to_pylist()
