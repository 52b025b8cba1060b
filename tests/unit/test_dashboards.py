"""The dashboards' parts that need no dbt build: manifest lookups, freshness, run history, HTML."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from ingestion.settings import LakePaths
from orchestration.dashboards import write_dashboards
from orchestration.dashboards.pages import Page, Section
from orchestration.dashboards.queries import RUN_HISTORY_RELATION, Freshness, run_history
from orchestration.dashboards.render import render_page
from orchestration.relations import ManifestError, Relations


def _manifest(path: Path, adapter: str = "duckdb", **nodes: str) -> Path:
    body = {
        "metadata": {"adapter_type": adapter},
        "nodes": {
            f"model.eventlake.{name}": {
                "name": name,
                "resource_type": "model",
                "relation_name": relation,
            }
            for name, relation in nodes.items()
        },
        "sources": {
            "source.eventlake.feed.lines": {
                "source_name": "feed",
                "name": "lines",
                "relation_name": '"db"."raw"."lines"',
                "loaded_at_field": "landed_at",
                "freshness": {"warn_after": {"count": 1, "period": "hour"}, "error_after": None},
            }
        },
    }
    path.write_text(json.dumps(body))
    return path


def test_relations_come_from_the_manifest(tmp_path: Path) -> None:
    rel = Relations.from_manifest(_manifest(tmp_path / "m.json", dim_rooms='"db"."s"."dim_rooms"'))
    assert rel.model("dim_rooms") == '"db"."s"."dim_rooms"'
    assert rel.source("feed", "lines") == '"db"."raw"."lines"'
    assert rel.find("lines") == '"db"."raw"."lines"'
    assert rel.find(RUN_HISTORY_RELATION) is None
    with pytest.raises(ManifestError, match="run `eventlake build`"):
        rel.model("fct_missing")


def test_a_missing_or_foreign_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no dbt manifest"):
        Relations.from_manifest(tmp_path / "absent.json")
    with pytest.raises(ManifestError, match="'athena' target"):
        Relations.from_manifest(_manifest(tmp_path / "m.json", adapter="athena"))


def test_no_warehouse_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="run `eventlake demo` first"):
        write_dashboards(LakePaths(tmp_path))
    assert not (tmp_path / "dashboards").exists()


def test_freshness_follows_the_dbt_rule() -> None:
    now = datetime(2026, 4, 2, 12)
    rule = Freshness("s.t", now - timedelta(hours=2), timedelta(hours=1), timedelta(hours=3))
    assert rule.status(now) == "warn"
    assert rule.status(now + timedelta(hours=2)) == "error"
    assert rule.status(now - timedelta(hours=1, minutes=30)) == "pass"
    assert Freshness("s.t", None, None, None).status(now) == "no data"


def test_run_history_is_shown_once_the_relation_exists(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("create schema runs")
        con.execute("create table runs.pipeline_runs (run_id varchar, started_at timestamp)")
        con.execute(
            "insert into runs.pipeline_runs values ('a', '2026-04-01 10:00'),"
            " ('b', '2026-04-02 10:00')"
        )
        without = Relations.from_manifest(_manifest(tmp_path / "a.json"))
        assert run_history(con, without) is None
        with_runs = Relations.from_manifest(
            _manifest(tmp_path / "b.json", pipeline_runs='"w"."runs"."pipeline_runs"')
        )
        rows = run_history(con, with_runs)
    assert [row["run_id"] for row in rows] == ["b", "a"]  # newest first


def test_page_data_cannot_close_the_script_tag() -> None:
    spec = {"data": {"values": [{"region": "</script><script>alert(1)</script>"}]}}
    page = Page("p", "Title <b>", "intro", [Section("chart", chart=spec), Section("t", table=[])])
    text = render_page(page, [page], "now")
    assert "</script><script>alert(1)" not in text
    assert "Title &lt;b&gt;" in text
    assert text.count('class="chart"') == 1


def test_a_relation_not_built_yet_is_a_clear_error(tmp_path: Path) -> None:
    paths = LakePaths(tmp_path)
    duckdb.connect(str(paths.duckdb_file)).close()
    manifest = _manifest(tmp_path / "m.json", fct_room_temperature_series='"eventlake"."m"."x"')
    with pytest.raises(ManifestError, match="run `eventlake build` first"):
        write_dashboards(paths, manifest)


def test_chart_specs_are_checked_against_vega_lite_with_every_row_kept() -> None:
    import altair as alt
    from jsonschema import ValidationError

    from orchestration.dashboards.charts import _spec

    rows = [{"day": f"2026-03-{d:02d}", "n": d} for d in range(1, 29)]
    spec = _spec(alt.Chart(alt.Data(values=rows)).mark_bar().encode(x="day:O", y="n:Q"))
    assert spec["data"]["values"] == rows  # the page gets every row
    # a dataset of the wrong shape is caught from its first row; so is a wrong property
    with pytest.raises(ValidationError):
        _spec(alt.Chart(alt.Data(values=[[1, 2]])).mark_bar().encode(x="a:Q"))
    with pytest.raises(ValidationError):
        _spec(alt.Chart(alt.Data(values=rows)).mark_bar().properties(width="wide"))
