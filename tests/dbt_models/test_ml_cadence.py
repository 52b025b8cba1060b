"""A user's own readings, not the simulator's: an hourly room and a 5-minute room, three weeks,
0.1 °C resolution, delivered to the raw zone as Firehose lands them. With default settings both
rooms train and score, and a sensor stuck for an hour is flagged by the stuck rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from lakehelpers import dbt, eventlake_cli, query

from ingestion.delivery import LocalFirehoseDelivery
from ingestion.raw_zone import RawZone
from ingestion.sensors.landing import LIVE_FEED, LIVE_STREAM
from ingestion.settings import lake_paths

pytestmark = pytest.mark.dbt

START = datetime(2026, 3, 2, tzinfo=UTC)
DAYS = 21
STUCK_FROM, STUCK_READINGS = 3_000, 12  # the 5-minute room repeats one value for an hour


def _room(room: str, cadence_s: int, seed: int) -> list[tuple[datetime, str]]:
    rng = np.random.default_rng(seed)
    n = DAYS * 86_400 // cadence_s
    hours = (np.arange(n) * cadence_s % 86_400) / 3_600
    temps = np.round(21 + 1.5 * np.cos(2 * np.pi * (hours - 15) / 24) + rng.normal(0, 0.15, n), 1)
    if room == "A102":
        temps[STUCK_FROM : STUCK_FROM + STUCK_READINGS] = temps[STUCK_FROM]
    records = []
    for i, temp in enumerate(temps.tolist()):
        at = START + timedelta(seconds=i * cadence_s)
        line = (
            f'{{"timestamp": "{at:%Y-%m-%d %H:%M:%S}", "room_id": "{room}", "temperature": {temp}}}'
        )
        records.append((at + timedelta(seconds=2), line))
    return records


def test_hourly_and_five_minute_rooms_go_through_with_defaults(tmp_path) -> None:
    paths = lake_paths(tmp_path)
    records = sorted(_room("A101", 3_600, 1) + _room("A102", 300, 2))
    with LocalFirehoseDelivery(RawZone(paths.raw), LIVE_FEED, LIVE_STREAM, progress=False) as out:
        out.deliver(records)
    dbt(paths, "build", "--exclude", "stg_ml_scores__anomaly_scores+")
    assert query(paths, "select count(*) from main_quarantine.quarantine_rejected_rows") == [(0,)]

    trained = eventlake_cli(tmp_path, "ml", "train")
    assert "A101: model " in trained and "(max gap 54000 s)" in trained  # 15 x 1 h
    assert "A102: model " in trained and "(max gap 4500 s)" in trained  # 15 x 5 min
    scored = eventlake_cli(tmp_path, "ml", "score")
    assert f"A101: {DAYS * 24 - 3:,} readings scored" in scored
    assert f"A102: {DAYS * 288 - 3:,} readings scored" in scored
    assert "anomaly events (" in scored
    eventlake_cli(tmp_path, "ml", "rebuild-marts")

    stuck = query(
        paths,
        "select room_id, count(*), min(reading_at), max(reading_at)"
        " from main_marts.fct_temperature_anomalies where is_stuck_flagged group by room_id",
    )
    first = START + timedelta(minutes=5 * STUCK_FROM)
    last = first + timedelta(minutes=5 * (STUCK_READINGS - 1))
    # The flat hour, maybe with a neighbour that repeats its value by chance at 0.1 °C.
    assert len(stuck) == 1 and stuck[0][0] == "A102"
    assert STUCK_READINGS <= stuck[0][1] <= STUCK_READINGS + 2
    assert stuck[0][2] <= first.replace(tzinfo=None) and stuck[0][3] >= last.replace(tzinfo=None)
    events = query(
        paths,
        "select distinct event_detected_by from main_marts.fct_temperature_anomalies"
        " where is_stuck_flagged",
    )
    assert events in ([("stuck_rule",)], [("both",)])
