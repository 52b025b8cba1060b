"""Small JSON state files (manifests, high-water marks) kept beside the lake, written atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ingestion.raw_zone import STAGING_DIR, atomic_write_bytes, clean_staging


def load_json_state(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise RuntimeError(
            f"state file {path} is not valid JSON ({exc}); restore it or delete it to start over"
        ) from exc


def save_json_state(path: Path, value: Any) -> None:
    body = json.dumps(value, indent=1, sort_keys=True, default=str).encode()
    clean_staging(path.parent / STAGING_DIR)  # what a killed writer left there
    atomic_write_bytes(path, body, staging_root=path.parent / STAGING_DIR)
