"""The project's dbt conventions, checked on the parsed manifest (dbt-project-evaluator's rules,
written here because dbt hub packages cannot be installed offline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestration.dbt_runner import ensure_profiles

PROJECT = ensure_profiles()
KEY_TESTS = {"primary_key", "unique", "unique_combination"}


@pytest.fixture(scope="module")
def manifest(dbt_manifest: Path) -> dict:
    """The project parsed against an empty lake (tests/conftest.py, once per session)."""
    return json.loads(dbt_manifest.read_text())


def _nodes(manifest: dict, resource_type: str) -> list[dict]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == resource_type]


def test_every_model_seed_and_snapshot_is_described(manifest: dict) -> None:
    for kind in ("model", "seed", "snapshot"):
        for node in _nodes(manifest, kind):
            assert node["description"].strip(), node["unique_id"]
            for name, column in node["columns"].items():
                assert column["description"].strip(), f"{node['unique_id']}.{name}"


def test_every_model_has_a_primary_key_test(manifest: dict) -> None:
    tested = {
        node["attached_node"]
        for node in _nodes(manifest, "test")
        if node.get("test_metadata", {}).get("name") in KEY_TESTS and node.get("attached_node")
    }
    for node in _nodes(manifest, "model"):
        assert node["unique_id"] in tested, f"{node['unique_id']} has no primary-key test"


def test_every_source_has_freshness_and_a_description(manifest: dict) -> None:
    assert manifest["sources"]
    for source in manifest["sources"].values():
        assert source["description"].strip() and source["source_description"].strip()
        freshness = source["freshness"]
        assert freshness["warn_after"]["count"] and freshness["error_after"]["count"]
        assert source["loaded_at_field"] == "landed_at"


def test_layers_depend_in_one_direction(manifest: dict) -> None:
    layer = {n["unique_id"]: n["fqn"][1] for n in _nodes(manifest, "model")}
    allowed = {
        "staging": {"source", "seed"},
        "quarantine": {"staging"},
        "intermediate": {"staging", "intermediate"},
        "marts": {"intermediate", "marts", "seed"},
    }
    for node in _nodes(manifest, "model"):
        for parent in node["depends_on"]["nodes"]:
            kind = parent.split(".")[0]
            parent_layer = layer.get(parent, kind)
            assert parent_layer in allowed[layer[node["unique_id"]]], (
                f"{node['unique_id']} ({layer[node['unique_id']]}) reads {parent}"
            )


def test_public_marts_enforce_contracts(manifest: dict) -> None:
    for node in _nodes(manifest, "model"):
        if node["name"].startswith(("fct_temperature", "agg_", "dim_")):
            assert node["config"]["contract"]["enforced"], node["unique_id"]


def test_models_never_branch_on_the_engine(manifest: dict) -> None:
    for node in _nodes(manifest, "model"):
        assert "target.type" not in node["raw_code"], node["unique_id"]
    for path in (PROJECT / "macros").rglob("*.sql"):
        if "cross_engine" not in path.parts:
            assert "target.type" not in path.read_text(), path


def test_models_behind_exposures_are_public(manifest: dict) -> None:
    for exposure in manifest["exposures"].values():
        for parent in exposure["depends_on"]["nodes"]:
            node = manifest["nodes"][parent] if parent.startswith("model.") else None
            if node and node["fqn"][1] == "marts":
                assert node["access"] == "public", (exposure["name"], parent)


def test_dashboard_exposures_link_to_their_page(manifest: dict) -> None:
    from orchestration.dashboards.pages import PAGES

    slugs = {build.__name__.removesuffix("_page") for build in PAGES}
    dashboards = [e for e in manifest["exposures"].values() if e["type"] == "dashboard"]
    assert dashboards
    for exposure in dashboards:
        page = exposure["url"].rsplit("/", 1)[-1]
        assert page.removesuffix(".html") in slugs, (exposure["name"], exposure["url"])
