"""Simulated IoT temperature sensors, fast enough to generate weeks of readings in seconds.

Each reading is the seed's device payload, one NDJSON line:
``{"timestamp": "YYYY-MM-DD HH:MM:SS", "room_id": "A101", "temperature": 21.37}`` (UTC, °C).
The series is vectorised with numpy and lines are assembled from pre-formatted pieces, because
``json.dumps`` per record would cap the simulator far below the landing rate we need. Alongside
the data come the labels tests and the anomaly detector are judged against: anomaly episodes,
and the quarantine reason of every malformed record.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import overload

import numpy as np

from ingestion.gaps import gap_mask
from ingestion.sensors.anomalies import DEFAULT_EPISODES_PER_WEEK, AnomalyEpisode, inject_anomalies
from ingestion.sensors.malformed import (
    MALFORMED_REASONS,
    TEMPERATURE_MAX_C,
    TEMPERATURE_MIN_C,
    malformed_line,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ROOM_ID = re.compile(r"^[A-Za-z0-9_-]+$")
# Delivery delays: devices reach IoT Core/Firehose within seconds; late ones (offline buffering)
# arrive minutes to hours after the event.
_DELAY_MEDIAN_S = 1.5
_DELAY_MAX_S = 60.0
_LATE_MIN_S = 120.0
_LATE_MAX_S = 6 * 3_600.0
# Firehose retries resend a record some time after the first copy was accepted.
_DUPLICATE_MIN_S = 1.0
_DUPLICATE_MAX_S = 300.0
_DROPOUT_MAX_READINGS = 10


def load_room_ids(path: str | Path) -> list[str]:
    """Room ids from the room registry seed (``seeds/rooms.csv``, column ``room_id``)."""
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or "room_id" not in reader.fieldnames:
            raise ValueError(f"{path} has no room_id column; point at seeds/rooms.csv")
        rooms = [row["room_id"].strip() for row in reader if row["room_id"].strip()]
    if not rooms:
        raise ValueError(f"{path} lists no rooms; add at least one row to the room registry")
    return rooms


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. The same config (seed included) always yields the same records.

    Fractions are of the readings that survive dropouts: ``malformed_fraction`` of them are
    replaced by a malformed record, ``duplicate_fraction`` of the valid ones are delivered twice
    (Firehose is at-least-once), ``late_fraction`` arrive minutes to hours late.
    ``dropout_fraction`` of all scheduled readings are never sent (short gaps of 1-10 readings).
    ``anomalies`` is False, True (3 episodes per type per room per week) or that rate.
    ``physics_seed`` picks each room's physics (base level, sensor offset, daily swing, noise
    level; default ``seed``): feeds that continue one another, like the demo's history files,
    database and live feed, share it and the same rooms, and differ only in their noise.
    """

    rooms: Sequence[str]
    start: datetime
    end: datetime
    cadence: timedelta = timedelta(seconds=60)
    seed: int = 0
    malformed_fraction: float = 0.0
    anomalies: bool | float = False
    dropout_fraction: float = 0.0
    duplicate_fraction: float = 0.0
    late_fraction: float = 0.0
    # Nothing can arrive after "now": a simulation ending at the current hour caps its late and
    # duplicate deliveries here instead of landing objects named in the future.
    arrivals_not_after: datetime | None = None
    physics_seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "rooms", tuple(self.rooms))
        if not self.rooms:
            raise ValueError("rooms is empty; pass load_room_ids('seeds/rooms.csv')")
        bad = [r for r in self.rooms if not isinstance(r, str) or not _ROOM_ID.match(r)]
        if bad:
            raise ValueError(f"room ids must be letters, digits, '_' or '-'; fix {bad!r}")
        if len(set(self.rooms)) != len(self.rooms):
            raise ValueError("rooms has duplicate ids; each room has one sensor")
        for name in ("start", "end"):
            value = getattr(self, name)
            if value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware, e.g. datetime(..., tzinfo=UTC)")
            if value.microsecond:
                raise ValueError(
                    f"{name} must be a whole second; use {name}.replace(microsecond=0)"
                )
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        seconds = self.cadence.total_seconds()
        if seconds < 1 or seconds != int(seconds):
            raise ValueError(f"cadence must be a whole number of seconds >= 1, got {self.cadence}")
        for name in ("malformed_fraction", "dropout_fraction", "duplicate_fraction"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if not 0.0 <= self.late_fraction <= 1.0:
            raise ValueError(f"late_fraction must be in [0, 1], got {self.late_fraction}")
        if self.arrivals_not_after is not None and self.arrivals_not_after < self.end:
            raise ValueError(
                "arrivals_not_after must not be before end: readings arrive after they are taken"
            )
        if self.anomaly_rate < 0:
            raise ValueError(f"anomalies must be a bool or a rate >= 0, got {self.anomalies}")

    @property
    def anomaly_rate(self) -> float:
        """Expected episodes per anomaly type, per room, per week."""
        if isinstance(self.anomalies, bool):
            return DEFAULT_EPISODES_PER_WEEK if self.anomalies else 0.0
        return float(self.anomalies)

    @property
    def cadence_seconds(self) -> int:
        return int(self.cadence.total_seconds())

    @property
    def steps(self) -> int:
        """Readings scheduled per room: one every cadence from start, strictly before end."""
        return math.ceil((self.end - self.start).total_seconds() / self.cadence_seconds)


class ArrivalOrderedRecords(Sequence[tuple[datetime, str]]):
    """``(arrival, payload)`` pairs sorted by arrival, stored compactly.

    Arrivals are kept as int64 microseconds since the epoch and turned into UTC datetimes only
    when read, which keeps a million records cheap to hold and to iterate.
    """

    def __init__(self, arrivals_us: np.ndarray, payloads: list[str]) -> None:
        if len(arrivals_us) != len(payloads):
            raise ValueError("arrivals and payloads differ in length")
        self.arrivals_us = arrivals_us
        self.payloads = payloads

    def __len__(self) -> int:
        return len(self.payloads)

    @overload
    def __getitem__(self, index: int) -> tuple[datetime, str]: ...
    @overload
    def __getitem__(self, index: slice) -> ArrivalOrderedRecords: ...
    def __getitem__(self, index: int | slice) -> tuple[datetime, str] | ArrivalOrderedRecords:
        if isinstance(index, slice):
            return ArrivalOrderedRecords(self.arrivals_us[index], self.payloads[index])
        return _EPOCH + timedelta(microseconds=int(self.arrivals_us[index])), self.payloads[index]

    def __iter__(self) -> Iterator[tuple[datetime, str]]:
        # fromtimestamp rounds to the microsecond, so the float detour loses nothing; it is
        # about twice as fast as adding a timedelta to the epoch.
        from_ts = datetime.fromtimestamp
        for us, payload in zip(self.arrivals_us.tolist(), self.payloads, strict=True):
            yield from_ts(us / 1e6, UTC), payload


@dataclass(frozen=True)
class SimulationResult:
    """The simulated stream and its labels.

    ``valid_count`` distinct valid readings + ``duplicate_count`` extra copies of valid readings
    + ``sum(malformed_counts.values())`` malformed lines = ``len(records)``. Duplicates are
    always of valid readings, so per-reason quarantine counts equal ``malformed_counts``.
    ``malformed_labels`` maps a position in ``records`` to the reason that record must get.
    """

    records: ArrivalOrderedRecords
    episodes: list[AnomalyEpisode]
    malformed_counts: dict[str, int]
    malformed_labels: dict[int, str]
    valid_count: int
    duplicate_count: int
    dropped_count: int = 0
    late_count: int = 0
    config: SimulationConfig | None = field(default=None, repr=False)


def simulate(config: SimulationConfig) -> SimulationResult:
    """Simulate every room's sensor over ``[config.start, config.end)``."""
    # One independent stream per concern: switching a fault on or off leaves everything else
    # (the physics above all) unchanged, so runs with and without it compare reading by reading.
    streams = np.random.SeedSequence(config.seed).spawn(6)
    physics_rng, anomaly_rng, dropout_rng, malformed_rng, delay_rng, duplicate_rng = (
        np.random.default_rng(s) for s in streams
    )
    rooms = tuple(config.rooms)
    n_rooms, n_steps, cadence = len(rooms), config.steps, config.cadence_seconds
    step_seconds = int(config.start.timestamp()) + cadence * np.arange(n_steps, dtype=np.int64)

    temps = _physics(n_rooms, step_seconds, physics_rng, _room_rng(config))
    episodes, in_episode = inject_anomalies(
        temps, step_seconds, rooms, cadence, config.anomaly_rate, anomaly_rng
    )
    np.clip(temps, TEMPERATURE_MIN_C + 0.01, TEMPERATURE_MAX_C - 0.01, out=temps)
    centi = np.rint(temps * 100).astype(np.int64)

    dropped = (
        gap_mask(n_rooms, n_steps, config.dropout_fraction, _DROPOUT_MAX_READINGS, dropout_rng)
        & ~in_episode
    )
    room_idx, step_idx = np.nonzero(~dropped)
    n = room_idx.size

    arrivals = _arrivals(step_seconds[step_idx], config.late_fraction, delay_rng)
    late_count = round(config.late_fraction * n)

    # Malformed records replace ordinary readings, never a labelled anomaly.
    eligible = np.flatnonzero(~in_episode[room_idx, step_idx])
    n_malformed = round(config.malformed_fraction * n)
    if n_malformed > eligible.size:
        raise ValueError(
            f"malformed_fraction {config.malformed_fraction} needs {n_malformed} ordinary "
            f"readings but only {eligible.size} lie outside anomaly episodes; lower it"
        )
    malformed_idx = np.sort(malformed_rng.choice(eligible, n_malformed, replace=False))
    reasons = malformed_rng.permutation(np.arange(n_malformed) % len(MALFORMED_REASONS))

    lines = _format_valid(step_seconds, rooms, centi, room_idx, step_idx)
    known = frozenset(rooms)
    malformed_counts = dict.fromkeys(MALFORMED_REASONS, 0)
    for i, code in zip(malformed_idx.tolist(), reasons.tolist(), strict=True):
        reason = MALFORMED_REASONS[code]
        malformed_counts[reason] += 1
        lines[i] = malformed_line(
            reason,
            timestamp=_EPOCH + timedelta(seconds=int(step_seconds[step_idx[i]])),
            room_id=rooms[room_idx[i]],
            temperature=int(centi[room_idx[i], step_idx[i]]) / 100,
            arrival=_EPOCH + timedelta(microseconds=int(arrivals[i])),
            known_rooms=known,
            rng=malformed_rng,
        )

    valid_mask = np.ones(n, dtype=bool)
    valid_mask[malformed_idx] = False
    valid_idx = np.flatnonzero(valid_mask)
    n_dup = round(config.duplicate_fraction * valid_idx.size)
    dup_src = np.sort(duplicate_rng.choice(valid_idx, n_dup, replace=False))
    dup_delay = duplicate_rng.uniform(_DUPLICATE_MIN_S, _DUPLICATE_MAX_S, n_dup) * 1e6
    dup_arrivals = arrivals[dup_src] + dup_delay.astype(np.int64)

    source = np.concatenate([np.arange(n, dtype=np.int64), dup_src])
    all_arrivals = np.concatenate([arrivals, dup_arrivals])
    if config.arrivals_not_after is not None:
        cap_us = int(config.arrivals_not_after.timestamp() * 1_000_000)
        np.minimum(all_arrivals, cap_us, out=all_arrivals)
    order = np.argsort(all_arrivals, kind="stable")
    payloads = [lines[i] for i in source[order].tolist()]
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    labels = {
        int(position[i]): MALFORMED_REASONS[code]
        for i, code in zip(malformed_idx.tolist(), reasons.tolist(), strict=True)
    }
    return SimulationResult(
        records=ArrivalOrderedRecords(all_arrivals[order], payloads),
        episodes=episodes,
        malformed_counts=malformed_counts,
        malformed_labels=labels,
        valid_count=int(valid_idx.size),
        duplicate_count=n_dup,
        dropped_count=int(dropped.sum()),
        late_count=late_count,
        config=config,
    )


def _room_rng(config: SimulationConfig) -> np.random.Generator | None:
    """The generator of the rooms' physics when ``physics_seed`` differs from ``seed``: the one
    a simulation seeded ``physics_seed`` uses, so its rooms come out the same."""
    if config.physics_seed is None or config.physics_seed == config.seed:
        return None
    return np.random.default_rng(np.random.SeedSequence(config.physics_seed).spawn(6)[0])


def simulate_temperatures(config: SimulationConfig) -> tuple[np.ndarray, np.ndarray]:
    """``(step_seconds, temps)``: every room's clean series (rooms x steps, °C, unrounded), the
    physics of :func:`simulate` without anomalies or faults, for sources that keep their own
    format (the demo's database table)."""
    physics_rng = np.random.default_rng(np.random.SeedSequence(config.seed).spawn(6)[0])
    cadence = config.cadence_seconds
    step_seconds = int(config.start.timestamp()) + cadence * np.arange(config.steps, dtype=np.int64)
    temps = _physics(len(config.rooms), step_seconds, physics_rng, _room_rng(config))
    np.clip(temps, TEMPERATURE_MIN_C + 0.01, TEMPERATURE_MAX_C - 0.01, out=temps)
    return step_seconds, temps


def _physics(
    n_rooms: int,
    step_seconds: np.ndarray,
    rng: np.random.Generator,
    room_rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Rooms x steps temperatures: base level, sensor offset, daily cycle, gaussian noise.

    The rooms' parameters come from ``room_rng`` when given (another simulation's rooms), else
    from ``rng``, which always draws the noise.
    """
    params = room_rng or rng
    base = params.uniform(18.0, 24.0, n_rooms)
    sensor_offset = params.normal(0.0, 0.4, n_rooms)  # calibration error of each room's sensor
    amplitude = params.uniform(1.0, 3.0, n_rooms)
    peak_hour = params.normal(15.0, 0.75, n_rooms)  # warmest mid-afternoon (UTC, sensors' clock)
    noise_sd = params.uniform(0.05, 0.2, n_rooms)
    hour = (step_seconds % 86_400) / 3_600.0
    cycle = np.cos(2 * np.pi * (hour[None, :] - peak_hour[:, None]) / 24.0)
    temps = rng.standard_normal((n_rooms, step_seconds.size))
    temps *= noise_sd[:, None]
    temps += (base + sensor_offset)[:, None] + amplitude[:, None] * cycle
    return temps


def _arrivals(
    event_seconds: np.ndarray, late_fraction: float, rng: np.random.Generator
) -> np.ndarray:
    """Arrival (processing) time in epoch microseconds: event time plus a delivery delay."""
    n = event_seconds.size
    delay = np.exp(rng.normal(np.log(_DELAY_MEDIAN_S), 0.6, n))
    np.clip(delay, 0.05, _DELAY_MAX_S, out=delay)
    n_late = round(late_fraction * n)
    if n_late:
        late = rng.choice(n, n_late, replace=False)
        delay[late] = np.exp(rng.uniform(np.log(_LATE_MIN_S), np.log(_LATE_MAX_S), n_late))
    return event_seconds * 1_000_000 + (delay * 1e6).astype(np.int64)


def _format_valid(
    step_seconds: np.ndarray,
    rooms: tuple[str, ...],
    centi: np.ndarray,
    room_idx: np.ndarray,
    step_idx: np.ndarray,
) -> list[str]:
    """The payload lines, joined from per-step, per-room and per-value pieces formatted once."""
    stamps = np.datetime_as_string(step_seconds.astype("datetime64[s]"), unit="s")
    heads = [f'{{"timestamp": "{s[:10]} {s[11:]}", "room_id": "' for s in stamps.tolist()]
    mids = [f'{room}", "temperature": ' for room in rooms]
    values = centi[room_idx, step_idx]
    low = int(values.min()) if values.size else 0
    high = int(values.max()) if values.size else 0
    numbers = [f"{c / 100}}}" for c in range(low, high + 1)]
    return [
        heads[s] + mids[r] + numbers[v]
        for s, r, v in zip(
            step_idx.tolist(), room_idx.tolist(), (values - low).tolist(), strict=True
        )
    ]
