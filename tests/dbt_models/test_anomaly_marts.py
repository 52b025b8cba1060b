"""Anomaly scores landed by the ML step become dbt models: empty before scoring, exact after,
replaced (never duplicated) when a room is re-scored by a new model."""

from __future__ import annotations

import pytest
from lakehelpers import ROOMS, T0, dbt, hours, land, query, relation, table_fingerprint

from ingestion.settings import LakePaths, lake_paths
from ml import pipeline
from ml.config import RcfConfig

pytestmark = pytest.mark.dbt

ANOMALY_MARTS = ("fct_temperature_anomalies", "agg_room_daily_anomalies")
SMALL = RcfConfig(num_trees=20, num_samples_per_tree=128, shingle_size=4)


def _build_anomaly_marts(paths: LakePaths) -> None:
    dbt(paths, "build", "--select", "stg_ml_scores__anomaly_scores+")


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> LakePaths:
    """A day and a half of three rooms with labelled anomalies, built once (nothing scored)."""
    paths = lake_paths(tmp_path_factory.mktemp("anomaly-lake"))
    land(paths, T0, T0 + hours(36), seed=5, anomalies=True)
    dbt(paths, "build")
    return paths


def test_marts_build_empty_before_anything_is_scored(lake: LakePaths) -> None:
    for model in ANOMALY_MARTS:
        assert query(lake, f"select count(*) from {relation(model)}") == [(0,)]


def test_scores_land_in_the_marts_and_rescoring_replaces_them(lake: LakePaths) -> None:
    pipeline.train(lake, SMALL)
    scored = pipeline.score(lake)
    _build_anomaly_marts(lake)
    landed_rows = sum(report.landed.rows for report in scored)
    flagged = sum(report.flagged_readings for report in scored)
    assert flagged > 0
    assert query(
        lake,
        "select count(*), count(distinct reading_id), count(*) filter (where is_rcf_flagged),"
        " count(distinct model_version) from main_marts.fct_temperature_anomalies",
    ) == [(landed_rows, landed_rows, flagged, 3)]
    # Every scored reading is a reading of the fact, with the same temperature.
    assert query(
        lake,
        "select count(*) from main_marts.fct_temperature_anomalies a"
        " join main_marts.fct_temperature_readings r using (reading_id)"
        " where a.temperature_c = r.temperature_c and a.reading_at = r.reading_at",
    ) == [(landed_rows,)]
    assert query(
        lake,
        "select sum(scored_reading_count), sum(rcf_flagged_reading_count)"
        " from main_marts.agg_room_daily_anomalies",
    ) == [(landed_rows, flagged)]
    before = {m: table_fingerprint(lake, relation(m)) for m in ANOMALY_MARTS}

    # The same model on the same data: nothing re-landed, the marts unchanged.
    assert all(report.landed.skipped for report in pipeline.score(lake))
    assert all(report.skipped for report in pipeline.train(lake, SMALL))
    _build_anomaly_marts(lake)
    assert {m: table_fingerprint(lake, relation(m)) for m in ANOMALY_MARTS} == before

    # A new model (shingle of 2) re-scores every room: its rows replace the old ones.
    pipeline.train(lake, SMALL.with_(shingle_size=2))
    rescored = pipeline.score(lake)
    _build_anomaly_marts(lake)
    rows = sum(report.landed.rows for report in rescored)
    assert rows == landed_rows + 3 * 2  # two more readings per room have a full window
    assert query(
        lake,
        "select count(*), count(distinct reading_id), count(distinct model_version)"
        " from main_marts.fct_temperature_anomalies",
    ) == [(rows, rows, 3)]
    current = {pipeline.load_model(lake, room).model_version for room in ROOMS}
    landed = query(lake, "select distinct model_version from main_marts.fct_temperature_anomalies")
    assert {version for (version,) in landed} == current
