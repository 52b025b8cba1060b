"""Relations looked up in dbt's manifest for the active target: the one manifest reader.

Python code (the dashboards, publish, the summary, the ML feature export) never names a schema:
a model or source is found by its dbt name, and the manifest (``target/manifest.json``, or under
``$DBT_TARGET_PATH``, written by every dbt parse/build) says where it lives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from orchestration.dbt_runner import dbt_target_dir


def default_manifest() -> Path:
    """The manifest dbt wrote last for this project (read when called: tests move the target)."""
    return dbt_target_dir() / "manifest.json"


class ManifestError(RuntimeError):
    """The manifest is missing, is for another engine, or lacks a relation the pages need."""


@dataclass(frozen=True)
class Relations:
    """Model and source names mapped to their quoted relation names."""

    models: dict[str, str]
    sources: dict[tuple[str, str], str]
    freshness: dict[tuple[str, str], tuple[str, dict]]

    @classmethod
    def from_manifest(cls, manifest: Path | None = None, adapter: str = "duckdb") -> Relations:
        """Relations of the manifest written for ``adapter`` (the AWS renderer asks for athena)."""
        manifest = manifest or default_manifest()
        if not manifest.exists():
            raise ManifestError(
                f"no dbt manifest at {manifest}; run `eventlake build` (or `dbt parse`) first"
            )
        loaded = json.loads(manifest.read_text())
        written_for = loaded.get("metadata", {}).get("adapter_type")
        if written_for != adapter:
            where = "the local DuckDB warehouse" if adapter == "duckdb" else f"the {adapter} target"
            raise ManifestError(
                f"{manifest} was written for the {written_for!r} target; this step reads {where}:"
                f" run `dbt parse` with that target first"
            )
        models = {
            node["name"]: node["relation_name"]
            for node in loaded["nodes"].values()
            if node["resource_type"] in ("model", "snapshot", "seed") and node.get("relation_name")
        }
        sources = {
            (s["source_name"], s["name"]): s["relation_name"] for s in loaded["sources"].values()
        }
        freshness = {
            (s["source_name"], s["name"]): (s["loaded_at_field"], s["freshness"])
            for s in loaded["sources"].values()
            if s.get("loaded_at_field") and s.get("freshness")
        }
        return cls(models, sources, freshness)

    def model(self, name: str) -> str:
        try:
            return self.models[name]
        except KeyError:
            raise ManifestError(
                f"model {name!r} is not in the dbt manifest; run `eventlake build` first"
            ) from None

    def source(self, source_name: str, table: str) -> str:
        try:
            return self.sources[(source_name, table)]
        except KeyError:
            raise ManifestError(
                f"source {source_name}.{table} is not in the dbt manifest; run `dbt parse`"
            ) from None

    def find(self, name: str) -> str | None:
        """A model, or a source table, called ``name``; None when the project has neither."""
        if name in self.models:
            return self.models[name]
        matches = [relation for (_, table), relation in self.sources.items() if table == name]
        return matches[0] if matches else None
