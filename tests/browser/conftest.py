"""One small lake, its dashboards and its dbt docs site, built once for every browser test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from browsersite import Site
from cdp import Browser, find_chromium
from lakehelpers import eventlake_cli

from ingestion.settings import lake_paths
from orchestration.dashboards import dashboards_dir
from orchestration.dbt_runner import run_dbt

# The main job on a small lake: one day, two rooms (its dbt build is the slow part).
DEMO_ARGS = ("demo", "--end", "2026-04-02T06:00", "--days", "1", "--rooms", "2", "--no-progress")


@pytest.fixture(scope="session")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        reason = "chromium is not installed (`apt-get install chromium`; `make test` does it)"
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the browser tests, but {reason}")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Site:
    data_dir = tmp_path_factory.mktemp("browser-lake")
    printed = eventlake_cli(data_dir, *DEMO_ARGS)
    paths = lake_paths(data_dir)
    dashboards = dashboards_dir(paths)
    assert f"dashboards           {dashboards / 'index.html'}" in printed
    docs = data_dir / "docs"
    run_dbt(
        ["docs", "generate", "--static", "--target-path", str(docs)],
        paths,
        quiet=True,
        # the exposures' links then open this lake's pages, as a user's links open theirs
        extra_env={"EVENTLAKE_DASHBOARDS_URL": dashboards.as_uri()},
    )
    return Site(paths, dashboards, docs / "static_index.html")


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Browser]:
    opened = Browser(chromium)
    try:
        yield opened
    finally:
        opened.close()
