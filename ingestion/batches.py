"""Simulated batches land once: a batch is named by its config, and a manifest records it.

The same config (seed included) always yields the same records, so a batch already in the
manifest is skipped: re-running the demo or a backfill never duplicates raw data.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

from ingestion.state import load_json_state, save_json_state


def config_batch_id(config: Any) -> str:
    """A short, stable name for a simulation config (a dataclass instance)."""
    fields = {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in dataclasses.asdict(config).items()
    }
    canonical = repr(sorted((k, str(v)) for k, v in fields.items()))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class LandedBatches:
    """The manifest of batches landed in the local raw zone (a JSON file in the state folder)."""

    def __init__(self, manifest_file: Path) -> None:
        self.manifest_file = manifest_file

    def get(self, batch: str) -> dict[str, Any] | None:
        return load_json_state(self.manifest_file, {}).get(batch)

    def record(self, batch: str, details: dict[str, Any]) -> None:
        manifest = load_json_state(self.manifest_file, {})
        manifest[batch] = details
        save_json_state(self.manifest_file, manifest)
