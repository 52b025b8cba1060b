"""The PySpark peer (benchmarks/spark_traffic.py) computes what our traffic models compute: the
same accepted/rejected split per reason, and the same fct_traffic_measurements and
agg_traffic_segment_minutes rows (EXCEPT ALL both ways, floats rounded to 1e-9). Skipped when
pyspark (the optional extra `spark`) is not installed."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime

import pytest
from lakehelpers import dbt

from ingestion.delivery.local import LocalFirehoseDelivery
from ingestion.raw_zone import RawZone
from ingestion.settings import PROJECT_ROOT, lake_paths
from ingestion.traffic import (
    TRAFFIC_FEED,
    TRAFFIC_STREAM,
    TrafficSimulationConfig,
    load_locations,
    simulate_traffic,
)

pytest.importorskip("pyspark")
pytestmark = pytest.mark.dbt

_spec = importlib.util.spec_from_file_location(
    "spark_traffic", PROJECT_ROOT / "benchmarks" / "spark_traffic.py"
)
spark_traffic = sys.modules["spark_traffic"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(spark_traffic)

START = datetime(2026, 10, 31, 20, tzinfo=UTC)  # across midnight and a month end
END = datetime(2026, 11, 1, 4, tzinfo=UTC)


def _strict_json_lines() -> list[str]:
    """Lines the simulator never writes, one per rule it leaves out, and one line twice."""
    valid = {
        "unieke_id": load_locations()[0].location_id,
        "tijd_waarneming": int(datetime(2026, 11, 1, 2, 30, 30, tzinfo=UTC).timestamp()),
        "rekendata_bezettingsgraad": 7,
        **{f"voertuigsnelheid_rekenkundig_klasse{c}": 90.5 for c in (2, 3, 4, 5)},
        **{f"verkeersintensiteit_klasse{c}": 3 for c in (2, 3, 4, 5)},
    }
    text = json.dumps(valid)
    occupancy = '"rekendata_bezettingsgraad": 7'
    assert occupancy in text
    return [
        text,
        text,  # the same line twice in one object: two occurrences, one measurement
        "",
        "   ",
        text.replace(occupancy, occupancy.replace("7", "NaN")),
        text.replace(occupancy, occupancy.replace("7", "1e400")),
        text.replace("}", ",}"),
        text.replace(occupancy, occupancy.replace("7", "+7")),
        text.replace("{", '{"unieke_id": 1, ', 1),
        '"a string"',
        "[1, 2]",
    ]


@pytest.fixture(scope="module")
def built_lake(tmp_path_factory: pytest.TempPathFactory):
    paths = lake_paths(tmp_path_factory.mktemp("spark-peer"))
    result = simulate_traffic(
        TrafficSimulationConfig(
            locations=load_locations()[:8],
            start=START,
            end=END,
            seed=3,
            malformed_fraction=0.02,
            duplicate_fraction=0.02,
            dropout_fraction=0.03,
            no_data_fraction=0.01,
            late_fraction=0.01,
        )
    )
    with LocalFirehoseDelivery(
        RawZone(paths.raw), TRAFFIC_FEED, TRAFFIC_STREAM, progress=False
    ) as delivery:
        delivery.deliver(result.records)
    extra = paths.raw / TRAFFIC_FEED / "2026/11/01/03"
    extra.mkdir(parents=True, exist_ok=True)
    name = f"{TRAFFIC_STREAM}-1-2026-11-01-03-00-00-00000000-0000-0000-0000-000000000000"
    (extra / name).write_text("\n".join(_strict_json_lines()) + "\n")
    dbt(paths, "seed", "--select", "traffic_locations", "traffic_segments")
    dbt(paths, "run", "--select", "+agg_traffic_segment_minutes", "--full-refresh")
    return paths, spark_traffic.run_spark_traffic(paths, paths.data_dir / "spark")


def test_same_rejection_split_per_reason(built_lake) -> None:
    paths, _ = built_lake
    ours = spark_traffic.duckdb_rejections(paths)
    assert spark_traffic.spark_rejections(paths) == ours
    # not a vacuous match: the simulator's reasons and the strict-JSON ones are all there
    assert {
        "empty_line",
        "non_finite_number",
        "trailing_comma",
        "number_with_bare_sign",
        "duplicate_key",
        "invalid_json",
        "unknown_location",
        "measured_at_in_future",
    } <= set(ours)
    assert ours[None] > 1000


def test_same_fact_and_aggregate_rows(built_lake) -> None:
    paths, run = built_lake
    compared = spark_traffic.compare(paths, run)
    for model, (rows, only_ours, only_spark) in compared.items():
        assert rows > 1000, model
        assert (only_ours, only_spark) == (0, 0), model
