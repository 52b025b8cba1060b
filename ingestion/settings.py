"""Where the local lake lives. One place, read from the environment, so tests can redirect it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class LakePaths:
    data_dir: Path

    @property
    def lake(self) -> Path:
        return self.data_dir / "lake"

    @property
    def raw(self) -> Path:
        return self.lake / "raw"

    @property
    def curated(self) -> Path:
        return self.lake / "curated"

    @property
    def ml(self) -> Path:
        return self.lake / "ml"

    @property
    def state(self) -> Path:
        """Ingestion bookkeeping (high-water marks), kept beside the lake, never inside a feed."""
        return self.data_dir / "state"

    @property
    def duckdb_file(self) -> Path:
        return self.data_dir / "eventlake.duckdb"


def lake_paths(data_dir: str | os.PathLike[str] | None = None) -> LakePaths:
    """The lake under ``data_dir``, else ``$EVENTLAKE_DATA_DIR``, else ``<project>/data``."""
    chosen = data_dir or os.environ.get("EVENTLAKE_DATA_DIR") or PROJECT_ROOT / "data"
    return LakePaths(Path(chosen).resolve())
