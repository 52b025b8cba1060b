"""Labelled anomaly episodes injected into simulated sensor series.

The anomaly detector (SageMaker RCF) is judged against these labels, so every episode is placed
where it stays visible: episodes never overlap, and the simulator keeps dropouts and malformed
records out of them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ingestion.raw_zone import STAGING_DIR, atomic_write_bytes

ANOMALY_TYPES = ("spike", "level_shift", "stuck")
DEFAULT_EPISODES_PER_WEEK = 3.0  # per anomaly type per room, when anomalies=True
SECONDS_PER_WEEK = 7 * 86_400
# Quiet time kept between two episodes of one room, so each one is separable in the labels.
EPISODE_GAP_SECONDS = 1_800
_PLACEMENT_TRIES = 25
GROUND_TRUTH_COLUMNS = ("room_id", "anomaly_type", "start", "end", "magnitude")


@dataclass(frozen=True)
class AnomalyEpisode:
    """One labelled anomaly: readings of ``room_id`` from ``start`` to ``end`` (inclusive).

    ``magnitude`` is the offset added in °C for ``spike`` and ``level_shift``; for ``stuck`` it is
    the value the sensor repeats.
    """

    room_id: str
    anomaly_type: str
    start: datetime
    end: datetime
    magnitude: float


def inject_anomalies(
    temps: np.ndarray,
    step_seconds: np.ndarray,
    rooms: tuple[str, ...],
    cadence_seconds: int,
    rate_per_week: float,
    rng: np.random.Generator,
) -> tuple[list[AnomalyEpisode], np.ndarray]:
    """Modify ``temps`` (rooms x steps) in place; return the episodes and their reading mask.

    The number of episodes per room and type is Poisson with mean ``rate_per_week`` times the
    simulated weeks, so short simulations may hold none of a type.
    """
    n_rooms, n_steps = temps.shape
    occupied = np.zeros(temps.shape, dtype=bool)
    episodes: list[AnomalyEpisode] = []
    if rate_per_week <= 0 or n_steps == 0:
        return episodes, occupied
    weeks = n_steps * cadence_seconds / SECONDS_PER_WEEK
    gap = max(1, -(-EPISODE_GAP_SECONDS // cadence_seconds))
    for r in range(n_rooms):
        for kind in ANOMALY_TYPES:
            for _ in range(int(rng.poisson(rate_per_week * weeks))):
                if kind == "spike":
                    length = 1
                else:
                    length = max(1, round(rng.uniform(3_600, 21_600) / cadence_seconds))
                length = min(length, n_steps)
                first = _place(occupied[r], length, gap, rng)
                if first is None:
                    continue  # the room's series is full of episodes already
                last = first + length - 1
                occupied[r, first : last + 1] = True
                span = slice(first, last + 1)
                if kind == "spike":
                    magnitude = float(rng.uniform(6.0, 15.0) * rng.choice((-1.0, 1.0)))
                    temps[r, span] += magnitude
                elif kind == "level_shift":
                    magnitude = float(rng.uniform(3.0, 6.0))
                    temps[r, span] += magnitude
                else:
                    magnitude = round(float(temps[r, first]), 2)
                    temps[r, span] = magnitude
                episodes.append(
                    AnomalyEpisode(
                        room_id=rooms[r],
                        anomaly_type=kind,
                        start=datetime.fromtimestamp(int(step_seconds[first]), UTC),
                        end=datetime.fromtimestamp(int(step_seconds[last]), UTC),
                        magnitude=round(magnitude, 2),
                    )
                )
    episodes.sort(key=lambda e: (e.start, e.room_id, e.anomaly_type))
    return episodes, occupied


def _place(row: np.ndarray, length: int, gap: int, rng: np.random.Generator) -> int | None:
    """A free start index for an episode of ``length`` readings, keeping ``gap`` around it."""
    n_steps = row.shape[0]
    for _ in range(_PLACEMENT_TRIES):
        first = int(rng.integers(0, n_steps - length + 1))
        if not row[max(0, first - gap) : first + length + gap].any():
            return first
    return None


def write_ground_truth(episodes: Iterable[AnomalyEpisode], path: Path) -> Path:
    """Write the labels as CSV atomically, so a reader never scores against half a file.

    Times are UTC in the sensors' own ``YYYY-MM-DD HH:MM:SS`` format so they join to readings.
    """
    path = Path(path)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(GROUND_TRUTH_COLUMNS)
    for e in episodes:
        writer.writerow(
            [
                e.room_id,
                e.anomaly_type,
                f"{e.start.astimezone(UTC):%Y-%m-%d %H:%M:%S}",
                f"{e.end.astimezone(UTC):%Y-%m-%d %H:%M:%S}",
                f"{e.magnitude:.2f}",
            ]
        )
    atomic_write_bytes(path, buffer.getvalue().encode(), staging_root=path.parent / STAGING_DIR)
    return path
