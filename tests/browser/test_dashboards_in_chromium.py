"""Every dashboard page and the dbt docs site, opened in headless Chromium.

Each page must load with no console error, make no request beyond local files, and draw every
chart with marks in it; the docs site must show each mart's exposures in its lineage graph and
link each dashboard exposure to its page. Screenshots go to target/screenshots/.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlparse

import pytest
from browsersite import SCREENSHOTS, Site
from cdp import Browser

from orchestration.dashboards.pages import PAGES
from orchestration.dashboards.queries import RUN_HISTORY_RELATION
from orchestration.relations import Relations

pytestmark = pytest.mark.browser

PAGE_SLUGS = [build.__name__.removesuffix("_page") for build in PAGES]
LOCAL_SCHEMES = {"file", "data", "blob", "about"}
CHARTS = "[...document.querySelectorAll('.chart')]"
# Marks vega draws as SVG: a chart whose mark groups hold no shape drew no data.
MARKS = "g[class*='mark-'] path, g[class*='mark-'] rect, g[class*='mark-'] line"
# dbt docs' own markup, not this project's: an uncompiled Angular template in an <img src>
# ("{{ getIcon(...) }}") and an unexpanded favicon path ("${require('./assets/...')}").
DBT_DOCS_OWN_ERRORS = ("%7B%7B%20getIcon(", "favicons/favicon.ico")
CY = "document.getElementById('cy')._cyreg.cy"


def _errors(console_errors: list[str]) -> list[str]:
    return [e for e in console_errors if not any(known in e for known in DBT_DOCS_OWN_ERRORS)]


def _network(requests: list[str]) -> list[str]:
    """Requests that leave the machine (a file URL with a host is one: `//host/x` on file:)."""
    return [
        url
        for url in requests
        if urlparse(url).scheme not in LOCAL_SCHEMES
        or urlparse(url).netloc not in ("", "localhost")
    ]


@pytest.mark.parametrize("slug", ["index", *PAGE_SLUGS])
def test_dashboard_page_renders_offline(site: Site, browser: Browser, slug: str) -> None:
    log = browser.open((site.dashboards / f"{slug}.html").as_uri())
    charts = browser.evaluate(f"{CHARTS}.length")
    if slug != "index":
        assert charts > 0, f"{slug} has no chart"
    browser.wait_for(f"{CHARTS}.every(el => el.dataset.rendered)")
    drawn = browser.evaluate(
        f'{CHARTS}.map(el => [el.id, el.dataset.rendered, el.querySelectorAll("{MARKS}").length])'
    )
    browser.screenshot(SCREENSHOTS / f"dashboard-{slug}.png")
    for chart_id, state, marks in drawn:
        assert state == "true", f"{slug} {chart_id} failed to render"
        assert marks > 0, f"{slug} {chart_id} rendered no marks"
    assert log.console_errors == []
    assert _network(log.requests) == []
    if slug != "quality":  # the quality page may say that there is no run history yet
        assert browser.evaluate("document.querySelectorAll('.empty').length") == 0


def test_quality_page_reconciles_every_feed_and_reports_run_history(
    site: Site, browser: Browser
) -> None:
    browser.open((site.dashboards / "quality.html").as_uri())
    text = browser.evaluate("document.body.innerText")
    for feed in ("firehose", "history_files", "db_extract", "traffic_firehose", "seismic_events"):
        assert f"{feed}\t" in text, feed
    assert text.count("reconciled") == 5 and "MISMATCH" not in text
    has_runs = Relations.from_manifest(site.docs.parent / "manifest.json").find(
        RUN_HISTORY_RELATION
    )
    assert ("No run history yet" in text) == (has_runs is None)
    # the demo's first run wrote this page: its record comes after, and the page says so
    assert re.search(r"This run \(\S+, started \S+, attempt 1\) wrote these pages", text)


def _exposures_by_mart(site: Site) -> dict[str, set[str]]:
    manifest = json.loads((site.docs.parent / "manifest.json").read_text())
    marts: dict[str, set[str]] = {}
    for exposure in manifest["exposures"].values():
        for parent in exposure["depends_on"]["nodes"]:
            node = manifest["nodes"].get(parent)
            if node and node["fqn"][1] == "marts":
                marts.setdefault(parent, set()).add(exposure["unique_id"])
    return marts


def test_lineage_graph_of_each_mart_shows_its_exposures(site: Site, browser: Browser) -> None:
    marts = _exposures_by_mart(site)
    assert marts
    manifest = json.loads((site.docs.parent / "manifest.json").read_text())
    len_all = len(manifest["nodes"]) + len(manifest["sources"]) + len(manifest["exposures"])
    for mart, exposures in sorted(marts.items()):
        log = browser.open(f"{site.docs.as_uri()}#!/model/{mart}")
        browser.wait_for(f"(() => {{ try {{ return {CY}.nodes().length > 0; }} catch {{ }} }})()")
        browser.evaluate("document.querySelector('a[ng-click=\"showExpanded()\"]').click()")
        # the expanded graph holds the mart's own lineage only
        shown = set(
            browser.wait_for(
                f"(() => {{ const ids = {CY}.nodes().map(n => n.id());"
                f" return ids.includes('{mart}') && ids.length < {len_all} && ids; }})()"
            )
        )
        assert exposures <= shown, (mart, exposures - shown)
        if mart.endswith("agg_room_daily_temperatures"):
            browser.screenshot(SCREENSHOTS / "docs-lineage-agg_room_daily_temperatures.png")
        assert _errors(log.console_errors) == []
        assert _network(log.requests) == []


def test_each_dashboard_exposure_links_to_its_rendered_page(site: Site, browser: Browser) -> None:
    manifest = json.loads((site.docs.parent / "manifest.json").read_text())
    dashboards = [e for e in manifest["exposures"].values() if e["type"] == "dashboard"]
    assert len(dashboards) >= 5
    for exposure in dashboards:
        browser.open(f"{site.docs.as_uri()}#!/exposure/{exposure['unique_id']}")
        href = browser.wait_for(
            "(() => { const a = [...document.querySelectorAll('a')]"
            ".find(a => a.href.endsWith('.html') && a.href.includes('/dashboards/'));"
            " return a && a.href; })()"
        )
        log = browser.open(href)
        browser.wait_for(f"{CHARTS}.length > 0 && {CHARTS}.every(el => el.dataset.rendered)")
        assert browser.evaluate(f"{CHARTS}.every(el => el.dataset.rendered === 'true')"), href
        # the docs page's own late errors may arrive while its link is being followed
        assert _errors(log.console_errors) == [], href
