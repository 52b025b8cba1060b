"""`eventlake ml` room by room: cadence-aware windows, one room's failure never stops the others,
flags that do not apply are refused, and scoring counts anomaly events apart from readings.

The warehouse here is built by hand (the series table where dbt's manifest places it), with the
shapes a user's own sensors give: an hourly room and a 5-minute room, three weeks each,
readings rounded to 0.1 °C."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from ingestion.settings import lake_paths
from ml.config import MAX_GAP_CADENCE_FACTOR, RcfConfig
from ml.features import CADENCE_COLUMN, ROOMS_MODEL, SERIES_MODEL, RoomSeries, room_config
from ml.pipeline import load_model
from ml.results import ScoredRoom
from orchestration.cli import main
from orchestration.relations import Relations

START = np.datetime64("2026-03-02T00:00:00", "s")
WEEKS = 3


def _readings(room: str, cadence_s: int, seed: int, count: int | None = None) -> list[tuple]:
    """A room's (room_id, reading_id, reading_at, temperature_c, seconds_since_previous)."""
    rng = np.random.default_rng(seed)
    n = count if count is not None else WEEKS * 7 * 86_400 // cadence_s
    at = START + np.arange(n) * np.timedelta64(cadence_s, "s")
    hours = (np.arange(n) * cadence_s % 86_400) / 3_600
    temps = np.round(21 + 1.5 * np.cos(2 * np.pi * (hours - 15) / 24) + rng.normal(0, 0.1, n), 1)
    rows = []
    for i in range(n):
        rows.append(
            (
                room,
                f"{room}-{i}",
                at[i].astype(datetime),
                float(temps[i]),
                None if i == 0 else float(cadence_s),
            )
        )
    return rows


def _warehouse(data_dir: Path, rows: list[tuple], cadences: dict[str, float] | None = None):
    """The series mart (and dim_rooms, with a cadence column when given) in a fresh warehouse."""
    paths = lake_paths(data_dir)
    relations = Relations.from_manifest()
    series = relations.model(SERIES_MODEL)
    rooms = relations.model(ROOMS_MODEL)
    paths.duckdb_file.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(paths.duckdb_file)) as con:
        for relation in (series, rooms):
            con.execute(f"create schema if not exists {relation.rsplit('.', 1)[0]}")
        names = ("room_id", "reading_id", "reading_at", "temperature_c", "seconds_since_previous")
        table = pa.Table.from_pylist([dict(zip(names, row, strict=True)) for row in rows])
        con.register("given", table)
        con.execute(f"create table {series} as select * from given")
        extra = f", {CADENCE_COLUMN} double" if cadences is not None else ""
        con.execute(f"create table {rooms} (room_id varchar{extra})")
        for room in sorted({r[0] for r in rows}):
            values = [room] + ([cadences.get(room)] if cadences is not None else [])
            con.execute(f"insert into {rooms} values ({', '.join('?' * len(values))})", values)
    return paths


@pytest.fixture(autouse=True)
def _small_forest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTLAKE_RCF_NUM_TREES", "20")
    monkeypatch.setenv("EVENTLAKE_RCF_NUM_SAMPLES_PER_TREE", "128")


def _cli(capsys: pytest.CaptureFixture[str], data_dir: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--data-dir", str(data_dir), "--no-progress", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_hourly_and_five_minute_rooms_train_and_score_with_defaults(tmp_path, capsys) -> None:
    paths = _warehouse(tmp_path, _readings("HOURLY", 3_600, 1) + _readings("FIVEMIN", 300, 2))
    code, out, err = _cli(capsys, tmp_path, "ml", "train")
    assert code == 0, err
    assert "FAILED" not in out
    assert load_model(paths, "HOURLY").config["max_gap_seconds"] == MAX_GAP_CADENCE_FACTOR * 3_600
    assert load_model(paths, "FIVEMIN").config["max_gap_seconds"] == MAX_GAP_CADENCE_FACTOR * 300
    code, out, err = _cli(capsys, tmp_path, "ml", "score")
    assert code == 0, err
    hourly = next(line for line in out.splitlines() if line.startswith("HOURLY:"))
    assert f"{WEEKS * 7 * 24 - 3:,} readings scored" in hourly  # all but the first k-1 = 3


def test_max_gap_seconds_overrides_the_cadence(tmp_path, capsys) -> None:
    _warehouse(tmp_path, _readings("HOURLY", 3_600, 1) + _readings("FIVEMIN", 300, 2))
    # The old fixed 900 s splits every hourly window: that room fails, by name, with the fix;
    # the 5-minute room still trains, and the step exits non-zero at the end.
    code, out, err = _cli(capsys, tmp_path, "ml", "train", "--max-gap-seconds", "900")
    assert code == 1
    failed = next(line for line in out.splitlines() if line.startswith("HOURLY:"))
    assert "FAILED: no training points" in failed and "raise --max-gap-seconds" in failed
    assert "FIVEMIN: model " in out and "max gap 900 s" in out
    assert err.strip().splitlines() == [
        "eventlake: error: ml train failed for 1 of 2 rooms (HOURLY); the reasons are above"
    ]


def test_a_room_that_cannot_train_does_not_stop_the_others(tmp_path, capsys) -> None:
    rows = _readings("A_TINY", 300, 3, count=2) + _readings("B_FINE", 300, 4)
    paths = _warehouse(tmp_path, rows)
    code, out, err = _cli(capsys, tmp_path, "ml", "train")
    assert code == 1
    assert "A_TINY: FAILED: no training points: 2 readings" in out  # first, and not the last
    assert "B_FINE: model " in out and load_model(paths, "B_FINE") is not None
    assert "(A_TINY)" in err
    # Scoring: the room without a model says so and how to fix it; the other one is scored.
    code, out, err = _cli(capsys, tmp_path, "ml", "score")
    assert code == 1
    assert "A_TINY: FAILED: no model; run `eventlake ml train`" in out
    assert "B_FINE: " in out and "anomaly events" in out
    assert list((paths.ml / "anomaly_scores" / "room_id=B_FINE").glob("reading_date=*"))


@pytest.mark.parametrize(
    ("args", "refused"),
    [
        (("ml", "score", "--threshold-sigmas", "5"), "--threshold-sigmas"),
        (("ml", "score", "--shingle-size", "2", "--max-gap-seconds", "60"), "--max-gap-seconds"),
        (("ml", "export", "--engine", "sagemaker"), "--engine"),
        (("ml", "evaluate", "--rooms", "A101"), "--rooms"),
        (("ml", "score", "--when-due"), "--when-due"),
    ],
)
def test_a_flag_that_does_not_apply_is_one_line_and_exit_2(tmp_path, capsys, args, refused):
    code, out, err = _cli(capsys, tmp_path, *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert refused in err and "does not apply to" in err


def test_score_counts_events_and_flagged_readings_apart() -> None:
    flags = np.array([0, 1, 1, 1, 0, 0, 1, 0, 1, 1], dtype=bool)
    n = flags.size
    scored = ScoredRoom(
        room_id="A101",
        reading_ids=np.array([str(i) for i in range(n)], dtype=object),
        reading_at=START + np.arange(n) * np.timedelta64(60, "s"),
        temperature_c=np.zeros(n),
        scores=np.where(flags, 2.0, 0.5),
        threshold=1.0,
        model_version="v",
        trained_at=datetime(2026, 3, 1, tzinfo=UTC),
        engine="local",
        data_fingerprint="f",
    )
    assert (scored.anomaly_count, scored.event_count) == (6, 3)


def test_dim_rooms_cadence_wins_over_the_inferred_one(tmp_path, capsys) -> None:
    # Readings every 5 minutes, but the registry says the sensor reports every 10 minutes.
    paths = _warehouse(tmp_path, _readings("FIVEMIN", 300, 2), cadences={"FIVEMIN": 600.0})
    code, _, err = _cli(capsys, tmp_path, "ml", "train", "--rooms", "FIVEMIN")
    assert code == 0, err
    assert load_model(paths, "FIVEMIN").config["max_gap_seconds"] == MAX_GAP_CADENCE_FACTOR * 600


def test_room_config_infers_the_median_interval_and_keeps_an_explicit_gap() -> None:
    gaps = np.array([np.nan, 3_600, 3_600, 7_200, 3_600, 36_000])  # outages do not move a median
    series = RoomSeries(
        "R", np.array(list("abcdef"), dtype=object), np.zeros(6, "datetime64[us]"),
        np.zeros(6), gaps,
    )  # fmt: skip
    assert room_config(series, RcfConfig()).max_gap_seconds == MAX_GAP_CADENCE_FACTOR * 3_600
    assert room_config(series, RcfConfig(max_gap_seconds=60)).max_gap_seconds == 60
    lone = RoomSeries("L", series.reading_ids[:1], series.reading_at[:1], np.zeros(1), gaps[:1])
    with pytest.raises(ValueError, match="--max-gap-seconds"):
        room_config(lone, RcfConfig())
    assert json.dumps(RcfConfig().max_gap_seconds) == "null"  # unset: each room decides


def test_the_runner_names_a_failed_room_and_fails_the_step_only_when_every_room_did(
    tmp_path: Path,
) -> None:
    from orchestration import runner
    from orchestration.pipeline import step
    from orchestration.run_state import PendingRun

    said: list[str] = []
    mixed = _warehouse(tmp_path / "mixed", _readings("A_TINY", 300, 3, 2) + _readings("B", 300, 4))
    ctx = runner._Context(
        mixed, PendingRun("r", "t", False), runner.RunOptions(), said.append, None
    )
    detail, _ = runner._ml(step("ml_train"), ctx)
    assert detail.startswith("1 of 2 room models trained") and detail.endswith("failed: A_TINY")
    assert any("room A_TINY FAILED: no training points" in line for line in said)
    detail, rows = runner._ml(step("ml_score"), ctx)
    assert detail.startswith("1 of 2 rooms re-scored (") and "readings flagged" in detail
    assert rows and detail.endswith("failed: A_TINY")

    alone = _warehouse(tmp_path / "alone", _readings("A_TINY", 300, 3, 2))
    ctx.paths = alone
    with pytest.raises(RuntimeError, match="ml_train failed for every room"):
        runner._ml(step("ml_train"), ctx)


def test_evaluate_judges_each_detector_of_the_marts_against_the_labels(tmp_path: Path) -> None:
    from ingestion.sensors.anomalies import AnomalyEpisode, write_ground_truth
    from ml.evaluate import evaluate_marts, labels_dir

    paths = lake_paths(tmp_path)
    at = [START + np.timedelta64(60 * i, "s") for i in range(100)]
    rcf = np.zeros(100, dtype=bool)
    stuck = np.zeros(100, dtype=bool)
    rcf[10] = True  # the spike
    stuck[40:60] = True  # the stuck episode, flagged by the rule only
    rcf[80] = True  # a false alarm
    when = [a.astype(datetime).replace(tzinfo=UTC) for a in at]
    write_ground_truth(
        [
            AnomalyEpisode("A101", "spike", when[10], when[10], 8.0),
            AnomalyEpisode("A101", "stuck", when[40], when[59], 20.0),
        ],
        labels_dir(paths) / "batch-1.csv",
    )
    relation = Relations.from_manifest().model("fct_temperature_anomalies")
    paths.duckdb_file.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(paths.duckdb_file)) as con:
        con.execute(f"create schema if not exists {relation.rsplit('.', 1)[0]}")
        table = pa.table(
            {
                "room_id": ["A101"] * 100,
                "reading_at": pa.array([a.astype(datetime) for a in at], pa.timestamp("us")),
                "is_rcf_flagged": rcf,
                "is_stuck_flagged": stuck,
                "is_anomaly": rcf | stuck,
            }
        )
        con.register("given", table)
        con.execute(f"create table {relation} as select * from given")
    results = evaluate_marts(paths)
    forest, rule, either = results.values()
    assert (forest.by_type["spike"].caught, forest.by_type["stuck"].caught) == (1, 0)
    assert (rule.by_type["spike"].caught, rule.by_type["stuck"].caught) == (0, 1)
    assert (either.by_type["spike"].caught, either.by_type["stuck"].caught) == (1, 1)
    assert (forest.false_alarms, rule.false_alarms, either.false_alarms) == (1, 0, 1)
