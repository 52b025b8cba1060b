"""How well the flags match the simulator's labelled anomalies, per anomaly type.

Definitions (one detector flags readings; the labels are episodes of one room):
- A flagged reading is *attributed* to an episode when its shingle window (itself and the k-1
  readings before it) contains a reading of the episode: with shingling, the reading right after
  a level shift ends is flagged because of the shift, not by accident.
- Spikes (one reading each) are judged per reading: a true positive is a spike reading that is
  flagged; a false positive is a flagged reading attributed to no episode at all. Flags
  attributed to other episodes, or to a spike's window after the spike, count for neither.
- Level shifts and stuck sensors are judged per episode: caught when any reading attributed to it
  is flagged. Precision is alarms attributed to that type / (those + false alarms).
- A false alarm is a run of consecutive flagged readings none of which is attributed to an
  episode; they are reported per room per week of scored readings.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingestion.sensors.anomalies import ANOMALY_TYPES
from ingestion.settings import LakePaths

SECONDS_PER_WEEK = 7 * 86_400


@dataclass(frozen=True)
class Episode:
    room_id: str
    anomaly_type: str
    start: np.datetime64
    end: np.datetime64


@dataclass
class TypeResult:
    anomaly_type: str
    episodes: int = 0
    caught: int = 0
    true_positives: int = 0  # readings (spikes) or alarms (episodes) attributed to this type
    false_positives: int = 0

    @property
    def recall(self) -> float:
        return self.caught / self.episodes if self.episodes else float("nan")

    @property
    def precision(self) -> float:
        total = self.true_positives + self.false_positives
        return self.true_positives / total if total else float("nan")

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else 0.0


@dataclass
class Evaluation:
    by_type: dict[str, TypeResult] = field(default_factory=dict)
    false_alarms: int = 0
    room_weeks: float = 0.0
    flagged_readings: int = 0
    scored_readings: int = 0

    @property
    def false_alarms_per_room_week(self) -> float:
        return self.false_alarms / self.room_weeks if self.room_weeks else float("nan")

    def render(self) -> str:
        lines = [
            f"  {'type':<12} {'episodes':>8} {'caught':>7} {'recall':>7} {'precision':>9} {'F1':>6}"
        ]
        for result in self.by_type.values():
            lines.append(
                f"  {result.anomaly_type:<12} {result.episodes:>8} {result.caught:>7}"
                f" {_percent(result.recall):>7} {_percent(result.precision):>9} {result.f1:>6.3f}"
            )
        lines.append(
            f"  false alarms: {self.false_alarms} ({self.false_alarms_per_room_week:.2f} per room"
            f" per week); {self.flagged_readings:,} of {self.scored_readings:,} readings flagged"
        )
        return "\n".join(lines)


def _percent(value: float) -> str:
    """A share as a percentage; "-" when undefined (no episode, or nothing flagged)."""
    return "-" if np.isnan(value) else f"{value:.1%}"


def read_labels(folder: Path) -> list[Episode]:
    """Every ground-truth CSV the simulator wrote (``batch-<id>.csv``) under ``folder``."""
    episodes = []
    for path in sorted(Path(folder).glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                episodes.append(
                    Episode(
                        row["room_id"],
                        row["anomaly_type"],
                        np.datetime64(row["start"].replace(" ", "T"), "us"),
                        np.datetime64(row["end"].replace(" ", "T"), "us"),
                    )
                )
    return episodes


def _window_touch(member: np.ndarray, k: int) -> np.ndarray:
    """touch[i] = any(member[i-k+1 : i+1])."""
    counts = np.concatenate([[0], np.cumsum(member.astype(np.int64))])
    idx = np.arange(member.size)
    return (counts[idx + 1] - counts[np.maximum(0, idx - k + 1)]) > 0


def evaluate_room(
    result: Evaluation,
    reading_at: np.ndarray,
    flags: np.ndarray,
    episodes: Iterable[Episode],
    shingle_size: int,
) -> None:
    """Add one room's readings (time order) and flags to ``result``."""
    reading_at = np.asarray(reading_at).astype("datetime64[us]")
    flags = np.asarray(flags, dtype=bool)
    attributed_any = np.zeros(flags.size, dtype=bool)
    per_episode: list[tuple[Episode, np.ndarray, np.ndarray]] = []
    for episode in episodes:
        member = (reading_at >= episode.start) & (reading_at <= episode.end)
        touch = _window_touch(member, shingle_size)
        attributed_any |= touch
        per_episode.append((episode, member, touch))
    # Runs of consecutive flags: an alarm.
    starts = flags & ~np.concatenate([[False], flags[:-1]])
    run_id = np.cumsum(starts)
    alarm_ids = np.unique(run_id[flags])
    false_alarm_runs = set(alarm_ids.tolist()) - set(run_id[flags & attributed_any].tolist())
    false_readings = int((flags & ~attributed_any).sum())
    for kind in ANOMALY_TYPES:
        result.by_type.setdefault(kind, TypeResult(kind))
    for episode, member, touch in per_episode:
        typed = result.by_type[episode.anomaly_type]
        if not member.any():
            continue  # not scored (before the first full window): cannot be judged
        typed.episodes += 1
        if episode.anomaly_type == "spike":
            hit = bool((flags & member).any())
            typed.caught += hit
            typed.true_positives += hit
        else:
            hits = flags & touch
            typed.caught += bool(hits.any())
            typed.true_positives += len(np.unique(run_id[hits]))
    result.by_type["spike"].false_positives += false_readings
    for kind in ANOMALY_TYPES:
        if kind != "spike":
            result.by_type[kind].false_positives += len(false_alarm_runs)
    result.false_alarms += len(false_alarm_runs)
    if reading_at.size:
        span = (reading_at[-1] - reading_at[0]) / np.timedelta64(1, "s")
        result.room_weeks += max(span, 1.0) / SECONDS_PER_WEEK
    result.flagged_readings += int(flags.sum())
    result.scored_readings += int(flags.size)


def _landed_shingle_size(ml_zone: Path, room: str) -> int:
    import json

    record = ml_zone / "models" / f"room_id={room}" / "model.json"
    return int(json.loads(record.read_text())["config"]["shingle_size"]) if record.exists() else 1


# The detectors the anomaly marts record, and the flag column of each in fct_temperature_anomalies.
DETECTORS = (
    ("Random Cut Forest", "is_rcf_flagged"),
    ("stuck-sensor rule", "is_stuck_flagged"),
    ("either (the marts' is_anomaly)", "is_anomaly"),
)


def labels_dir(paths: LakePaths) -> Path:
    """Where the simulator writes its ground truth (``batch-<id>.csv``)."""
    return paths.lake / "labels" / "sensor_anomalies"


def evaluate_marts(paths: LakePaths) -> dict[str, Evaluation]:
    """Each detector's flags in ``fct_temperature_anomalies`` judged against the labels.

    A flag is attributed through the room model's shingle window (the forest flags a reading
    because of the k-1 before it); the stuck rule flags the readings of the run themselves.
    """
    import duckdb

    from orchestration.relations import Relations

    episodes = read_labels(labels_dir(paths))
    if not episodes:
        if list(labels_dir(paths).glob("*.csv")):
            raise ValueError(
                "the simulator labelled no anomaly episode (about 3 per type per room per week:"
                " simulate longer to judge the detectors)"
            )
        raise FileNotFoundError(
            f"no labels under {labels_dir(paths)}: only simulated data (eventlake simulate"
            " --anomalies, eventlake demo) has ground truth to evaluate against"
        )
    if not paths.duckdb_file.exists():
        raise FileNotFoundError(f"no warehouse at {paths.duckdb_file}; run `eventlake run` first")
    relation = Relations.from_manifest().model("fct_temperature_anomalies")
    results = {name: Evaluation() for name, _ in DETECTORS}
    with duckdb.connect(str(paths.duckdb_file), read_only=True) as con:
        rooms = [r for (r,) in con.execute(f"select distinct room_id from {relation}").fetchall()]
        if not rooms:
            raise FileNotFoundError(
                f"{relation} is empty: run `eventlake ml score`, then `eventlake ml rebuild-marts`"
            )
        for room in sorted(rooms):
            columns = ", ".join(column for _, column in DETECTORS)
            data = con.execute(
                f"select reading_at, {columns} from {relation} where room_id = ?"
                " order by reading_at",
                [room],
            ).fetchnumpy()
            k = _landed_shingle_size(paths.ml, room)
            mine = [e for e in episodes if e.room_id == room]
            for name, column in DETECTORS:
                window = 1 if column == "is_stuck_flagged" else k
                evaluate_room(results[name], data["reading_at"], data[column], mine, window)
    return results


def render_detectors(results: dict[str, Evaluation]) -> str:
    """Precision and recall per anomaly type, one table per detector."""
    return "\n".join(f"{name}:\n{result.render()}" for name, result in results.items())


def evaluate_warehouse(paths: LakePaths) -> str:
    """`eventlake ml evaluate`: the marts' detectors against the simulator's labels."""
    return "Detection against the simulator's labels (per anomaly type):\n" + render_detectors(
        evaluate_marts(paths)
    )
