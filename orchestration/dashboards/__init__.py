"""Dashboards as static pages generated from the marts, written into the data folder.

``write_dashboards(paths)`` reads the local DuckDB warehouse (relations found through dbt's
manifest), builds one page per exposure area (rooms, traffic, seismic, data quality) with
Vega-Lite charts, and writes them with the Vega bundle beside them, so they open offline.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingestion.raw_zone import atomic_write_bytes, clean_staging
from ingestion.settings import LakePaths
from orchestration.dashboards.pages import PAGES, Page, quality_page
from orchestration.dashboards.render import BUNDLE_FILE, render_index, render_page, vega_bundle
from orchestration.duckdb_functions import register_functions
from orchestration.relations import ManifestError, Relations

__all__ = ["ManifestError", "dashboards_dir", "write_dashboards"]


def dashboards_dir(paths: LakePaths) -> Path:
    return paths.data_dir / "dashboards"


def write_dashboards(
    paths: LakePaths, manifest: Path | None = None, run_in_progress: str | None = None
) -> Path:
    """Write every page (each file atomically) and return the index page's path.
    ``run_in_progress``: said of the run writing them, on the quality page (quality_page)."""
    if not paths.duckdb_file.exists():
        raise FileNotFoundError(f"no warehouse at {paths.duckdb_file}; run `eventlake demo` first")
    relations = Relations.from_manifest(manifest)
    with register_functions(duckdb.connect(str(paths.duckdb_file), read_only=True)) as con:
        try:
            extra = {quality_page: {"run_in_progress": run_in_progress}}
            pages: list[Page] = [build(con, relations, **extra.get(build, {})) for build in PAGES]
        except duckdb.CatalogException as exc:
            raise ManifestError(
                f"a relation the dashboards read is in the manifest but not in {paths.duckdb_file}"
                f" ({str(exc).splitlines()[0]}); run `eventlake build` first"
            ) from exc
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    folder = dashboards_dir(paths)
    staging = folder / ".staging"
    clean_staging(staging)  # a killed run's leftovers would make the rmdir below fail
    files = {BUNDLE_FILE: vega_bundle()}
    files |= {f"{page.slug}.html": render_page(page, pages, generated) for page in pages}
    files["index.html"] = render_index(pages, generated, str(paths.duckdb_file))
    for name, text in files.items():
        atomic_write_bytes(folder / name, text.encode(), staging_root=staging)
    staging.rmdir()
    return folder / "index.html"
