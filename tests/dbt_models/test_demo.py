"""The main job end to end, as a user runs it: `eventlake demo`, twice, then a forced run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lakehelpers import DEMO_ARGS, eventlake_cli, marts_fingerprint, relation, table_fingerprint

from ingestion.settings import lake_paths

pytestmark = pytest.mark.dbt

ANOMALY_MARTS = ("fct_temperature_anomalies", "agg_room_daily_anomalies")


def _demo(data_dir: Path) -> str:
    return eventlake_cli(data_dir, *DEMO_ARGS)


def test_demo_runs_end_to_end_and_a_second_run_changes_nothing(demo_run) -> None:
    # The first demo is the session's (tests/conftest.py: the browser tests read its pages).
    data_dir, first = demo_run.data_dir, demo_run.printed
    for section in (
        "Rows per layer:",
        "Quarantined lines by feed and reason:",
        "Per-room statistics",
        "Most jammed road segments",
        "Outputs:",
        "dbt build --exclude stg_ml_scores__anomaly_scores+ --exclude-resource-type unit_test:",
        "step                  status    seconds  rows",
        "Anomalies found per room (Random Cut Forest and the stuck-sensor rule):",
        "Deepest-quartile UTM zones",
        "Detection against the simulator's labels",  # a day holds too few episodes to judge
    ):
        assert section in first
    # bad rows of every feed are reported with their reason
    for feed, reason in (
        ("history_files", "timestamp_unparseable"),
        ("traffic_firehose", "invalid_json"),
        ("seismic_events", "depth_not_numeric"),
    ):
        assert re.search(rf"^  {feed} +{reason} ", first, re.MULTILINE), (feed, reason)
    paths = lake_paths(data_dir)
    assert list((paths.curated / "fct_temperature_readings").glob("event_date=*/part-0.parquet"))
    assert list((paths.lake / "labels" / "sensor_anomalies").glob("batch-*.csv"))
    traffic = paths.curated / "fct_traffic_measurements"
    assert list(traffic.glob("year=2026/month=4/day=*/hour=*/part-0.parquet"))
    assert list((paths.ml / "anomaly_scores").glob("room_id=*/reading_date=*/part-0.parquet"))
    assert list((paths.curated / "fct_seismic_events").glob("event_date=*/part-0.parquet"))
    assert "1 seismic files imported (1 usgs)" in first
    before = marts_fingerprint(paths)
    anomalies_before = [table_fingerprint(paths, relation(m)) for m in ANOMALY_MARTS]
    assert anomalies_before[0][0] > 0

    second = _demo(data_dir)
    assert "already landed" in second and "0 rows extracted" in second
    assert "0 seismic files imported (none), 1 already imported" in second
    assert "no new raw object since the last successful run: skipped 8 steps" in second
    assert marts_fingerprint(paths) == before

    # Forcing every step over the same data changes no mart, no partition and no model.
    forced = eventlake_cli(data_dir, "run", "--force", "--no-progress")
    assert forced.count(" 0 partitions written") == 3  # the temperature, traffic, seismic facts
    assert "0 of 2 room models trained" in forced and "0 of 2 rooms re-scored" in forced
    assert marts_fingerprint(paths) == before
    assert [table_fingerprint(paths, relation(m)) for m in ANOMALY_MARTS] == anomalies_before
