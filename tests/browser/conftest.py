"""The demo lake, its dashboards and its dbt docs site, built once for every browser test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from browsersite import Site
from cdp import Browser, find_chromium

from ingestion.settings import lake_paths
from orchestration.dashboards import dashboards_dir
from orchestration.dbt_runner import run_dbt


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
def site(demo_run, chromium: str) -> Site:
    """The pages of the session's demo lake (tests/conftest.py), and its dbt docs site."""
    paths = lake_paths(demo_run.data_dir)
    dashboards = dashboards_dir(paths)
    assert f"dashboards           {dashboards / 'index.html'}" in demo_run.printed
    docs = demo_run.data_dir / "docs"
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
