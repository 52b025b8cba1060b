"""`eventlake run` end to end on a small lake: resume at every step, determinism, the skip.

One simulated lake (a day, two rooms, four traffic detectors) is copied twice, byte for byte, to
the same path (line ids hash the object path): lake A runs uninterrupted; lake B fails at every
step of the pipeline in turn (each re-run resumes the failed step, then fails at the next one),
then finishes. Both must end with the same marts. Chaining the failures costs about one extra
run instead of one run per step.
"""

from __future__ import annotations

import json
import shutil
import signal
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from lakehelpers import MARTS as FEED_MARTS
from lakehelpers import eventlake_cli, relation, run_eventlake, table_fingerprint

from ingestion.history.database import default_demo_url, extract_database
from ingestion.history.files import import_history_files
from ingestion.seismic.importer import import_seismic_files
from ingestion.settings import LakePaths, lake_paths
from orchestration import run_state
from orchestration.dbt_runner import WarmDbt
from orchestration.demo import DemoConfig, simulate_demo_data
from orchestration.pipeline import PIPELINE
from orchestration.relations import Relations
from orchestration.run_records import read_records
from orchestration.runner import FAIL_AT_ENV, RunOptions, run_pipeline

pytestmark = pytest.mark.dbt

MARTS = (*FEED_MARTS, "fct_temperature_anomalies", "agg_room_daily_anomalies")
# When a model was trained is wall-clock time of that run, not a property of the data.
RUN_TIME_COLUMNS = frozenset({"trained_at"})


def _marts(paths: LakePaths) -> dict[str, tuple[int, str]]:
    return {model: table_fingerprint(paths, relation(model), RUN_TIME_COLUMNS) for model in MARTS}


def _curated(paths: LakePaths) -> list[str]:
    return sorted(str(p.relative_to(paths.curated)) for p in paths.curated.rglob("part-0.parquet"))


@dataclass(frozen=True)
class Lakes:
    template: Path  # a copy of the lake simulated and imported at ``work``, never run
    work: Path  # where a run happens: lake A first, then lake B (same path, same line ids)
    a_done: Path  # lake A, moved aside once it has run


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory) -> Lakes:
    root = tmp_path_factory.mktemp("runner")
    # Made at the work path: the import bookkeeping and the line ids hold absolute paths.
    template = lake_paths(root / "work")
    config = DemoConfig(
        end=datetime(2026, 4, 2, 6, tzinfo=UTC),
        days=1,
        rooms=2,
        history_days=2,
        traffic_days=1,
        traffic_locations=4,
        progress=False,
    )
    simulate_demo_data(config, template, say=lambda _: None)
    # The imports land objects stamped with the time they ran; done once here, both lakes get
    # the same raw zone (their import steps then find nothing new, as on a re-run).
    sources = template.data_dir / "sources"
    import_history_files(sources / "history_csv", paths=template, progress=False)
    extract_database(default_demo_url(template), paths=template)
    import_seismic_files(sources / "seismic_usgs", paths=template, progress=False)
    lakes = Lakes(root / "template", root / "work", root / "a_done")
    shutil.copytree(lakes.work, lakes.template)
    return lakes


def _lake_a(lakes: Lakes) -> LakePaths:
    """Lake A after one uninterrupted run (run here when the first test was not selected)."""
    a = lake_paths(lakes.work)
    if not a.duckdb_file.exists():
        assert run_pipeline(a, RunOptions(), lambda _: None).outcome == "succeeded"
    return a


def test_uninterrupted_run_then_a_run_with_no_new_data_skips(lakes: Lakes) -> None:
    a = lake_paths(lakes.work)
    said: list[str] = []
    first = run_pipeline(a, RunOptions(), said.append)
    assert first.outcome == "succeeded", said[-5:]
    assert [r.status for r in first.steps] == ["ran"] * len(PIPELINE)
    assert list((a.ml / "anomaly_scores").glob("room_id=*/reading_date=*/part-0.parquet"))
    before, curated = _marts(a), _curated(a)
    assert before["fct_temperature_anomalies"][0] > 0

    said.clear()
    second = run_pipeline(a, RunOptions(), said.append)
    assert second.outcome == "skipped"
    skipped = [r.name for r in second.steps if r.status == "skipped"]
    assert skipped == [s.name for s in PIPELINE if s.skip_when_no_new_data]
    message = f"no new raw object since the last successful run: skipped {len(skipped)} steps"
    assert message in "\n".join(said)
    assert _marts(a) == before and _curated(a) == curated

    # Two runs over the same data: forcing every step again changes no mart and no partition.
    said.clear()
    forced = run_pipeline(a, RunOptions(force=True), said.append)
    assert forced.outcome == "succeeded"
    text = "\n".join(said)
    assert "0 of 2 room models trained" in text and "0 of 2 rooms re-scored" in text
    assert text.count(" 0 partitions written") == 3
    assert _marts(a) == before and _curated(a) == curated
    outcomes = [r["outcome"] for r in read_records(a)]
    assert outcomes == ["succeeded", "skipped", "succeeded"]


def test_a_run_killed_mid_publish_resumes_there_in_another_folder(lakes: Lakes) -> None:
    """kill -9 of the real `eventlake run` process while it publishes (a crash point: no timing),
    in a copy of the lake at another path: the next run resumes at publish, and the marts and
    curated files equal the uninterrupted run's (line ids do not depend on the lake's path)."""
    expected_marts, expected_curated = _marts(_lake_a(lakes)), _curated(_lake_a(lakes))
    moved = lakes.template.parent / "killed"
    shutil.copytree(lakes.template, moved)
    killed = run_eventlake(moved, "run", "--no-progress", crash_at="partition-published:2")
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr[-2000:]
    paths = lake_paths(moved)
    pending = run_state.PendingRun.load(paths)
    assert pending is not None and "publish" not in pending.completed
    assert read_records(paths) == []  # a killed attempt writes no record

    resumed = run_eventlake(moved, "run", "--no-progress")
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    (record,) = read_records(paths)
    assert record["outcome"] == "succeeded" and record["resumed_at_step"] == "publish"
    assert run_state.PendingRun.load(paths) is None
    assert not list((paths.data_dir / "lake" / ".staging").rglob("*.parquet"))
    assert _marts(paths) == expected_marts
    assert _curated(paths) == expected_curated


def test_a_run_failing_at_every_step_in_turn_resumes_to_the_same_marts(
    lakes: Lakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected_marts, expected_curated = _marts(_lake_a(lakes)), _curated(_lake_a(lakes))
    shutil.move(lakes.work, lakes.a_done)
    shutil.copytree(lakes.template, lakes.work)
    b = lake_paths(lakes.work)
    resumed_at = []
    for step in PIPELINE:
        monkeypatch.setenv(FAIL_AT_ENV, step.name)
        said: list[str] = []
        result = run_pipeline(b, RunOptions(), said.append)
        assert result.outcome == "failed", (step.name, said[-5:])
        assert result.steps[-1].name == step.name and result.steps[-1].status == "failed"
        pending = run_state.PendingRun.load(b)
        assert pending is not None and pending.failed_step == step.name
        resumed_at.append(read_records(b)[-1]["resumed_at_step"])
    monkeypatch.delenv(FAIL_AT_ENV)
    said = []
    final = run_pipeline(b, RunOptions(), said.append)
    assert final.outcome == "succeeded", said[-5:]
    # Every attempt after the first continued at the step the one before it failed at.
    names = [s.name for s in PIPELINE]
    assert resumed_at == [None, *names[:-1]]
    assert read_records(b)[-1]["resumed_at_step"] == names[-1]
    assert len({r["run_id"] for r in read_records(b)}) == 1
    # The two dbt steps were continued by dbt retry, not rebuilt from scratch.
    details = [s["detail"] for r in read_records(b) for s in json.loads(r["steps"])]
    assert sum(d.startswith("dbt retry") for d in details) == 2, details
    assert run_state.PendingRun.load(b) is None
    assert _marts(b) == expected_marts
    assert _curated(b) == expected_curated


def test_new_traffic_only_rebuilds_what_reads_traffic(
    lakes: Lakes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run after one more hour of traffic narrows the dbt build to the traffic feed's models
    (and the run records'): the temperature and seismic facts keep the rows an earlier run built.
    Its two dbt steps share one in-process dbt that parsed the project once.
    """
    sessions: list[WarmDbt] = []
    made = WarmDbt.__init__

    def recorded(self: WarmDbt, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        sessions.append(self)

    monkeypatch.setattr(WarmDbt, "__init__", recorded)
    paths = _lake_a(lakes)  # lake B when the test before ran: either is a finished lake
    relations = Relations.from_manifest()

    def builders(model: str) -> set[str]:
        with duckdb.connect(str(paths.duckdb_file), read_only=True) as con:
            found = con.execute(f"select distinct _dbt_invocation_id from {relations.model(model)}")
            return {invocation for (invocation,) in found.fetchall()}

    before = {m: builders(m) for m in ("fct_temperature_readings", "fct_seismic_events")}
    traffic_rows = _marts(paths)["fct_traffic_measurements"][0]
    eventlake_cli(
        paths.data_dir, "simulate-traffic", "--no-progress", "--locations", "4",
        "--start", "2026-04-02T06:00", "--end", "2026-04-02T07:00",
    )  # fmt: skip
    said: list[str] = []
    sessions.clear()  # _lake_a may have run the first run here
    result = run_pipeline(paths, RunOptions(), said.append)
    assert result.outcome == "succeeded", said[-5:]
    build = next(r for r in result.steps if r.name == "dbt_build")
    selected = build.detail.split(" --exclude ")[0].split(" --select ")[1].split()
    assert "source:traffic_firehose.measurements+" in selected, build.detail
    assert "source:orchestration.pipeline_runs+" in selected, build.detail
    # an unchanged registry selects nothing: every feed's staging reads it
    assert not [
        s for s in selected if s.startswith(("source:sensor", "source:seismic", "source:device"))
    ]
    assert "--exclude-resource-type unit_test:" in build.detail, build.detail
    assert [s.parses for s in sessions] == [1]
    assert {m: builders(m) for m in before} == before
    assert _marts(paths)["fct_traffic_measurements"][0] > traffic_rows


def test_a_registry_edit_is_new_data_for_the_gate(lakes: Lakes) -> None:
    """`eventlake devices add` with no new raw object: the next run builds what reads the rooms'
    registry (dim_rooms gets the room) and not the traffic or seismic models; the run after it
    is skipped again."""
    paths = _lake_a(lakes)
    said: list[str] = []
    assert run_pipeline(paths, RunOptions(), said.append).outcome in {"skipped", "succeeded"}
    eventlake_cli(paths.data_dir, "devices", "add", "LAB-9", "--name", "Lab 9")

    result = run_pipeline(paths, RunOptions(), said.append)
    assert result.outcome == "succeeded", said[-5:]
    gate = next(r for r in result.steps if r.name == "check_new_data")
    assert gate.detail == (
        "0 new raw objects since the last successful run, and the device registry changed"
    )
    build = next(r for r in result.steps if r.name == "dbt_build")
    selected = build.detail.split(" --exclude ")[0].split(" --select ")[1].split()
    assert "source:device_registry.rooms_file+" in selected, build.detail
    assert not [
        s
        for s in selected
        if s.startswith(("source:traffic", "source:seismic", "source:device_registry.traffic"))
    ]
    with duckdb.connect(str(paths.duckdb_file), read_only=True) as con:
        names = con.execute(
            f"select room_name from {relation('dim_rooms')} where room_id = 'LAB-9'"
        )
        assert names.fetchall() == [("Lab 9",)]

    assert run_pipeline(paths, RunOptions(), said.append).outcome == "skipped"
