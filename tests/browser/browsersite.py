"""What the browser tests open, and where their screenshots go."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingestion.settings import PROJECT_ROOT, LakePaths

SCREENSHOTS = PROJECT_ROOT / "target" / "screenshots"


@dataclass(frozen=True)
class Site:
    paths: LakePaths
    dashboards: Path
    docs: Path  # dbt docs generate --static: one file with manifest and catalog inside
