"""Pages to self-contained HTML: the Vega bundle is a local file, the data is in the page."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from functools import cache

import vl_convert

from orchestration.dashboards.pages import Page, Section

BUNDLE_FILE = "assets/vega-bundle.js"
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #222; }
header { background: #1f3b57; color: #fff; padding: 10px 24px; }
header a { color: #cfe3f7; margin-right: 18px; text-decoration: none; }
header a.here { color: #fff; font-weight: 600; }
main { padding: 8px 24px 40px; max-width: 1100px; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
.note { color: #555; } .empty { color: #8a5a00; font-style: italic; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f2f4f7; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
"""


@cache
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one classic script, from the vl-convert wheel."""
    return vl_convert.javascript_bundle("window.vegaEmbed = vegaEmbed;")


def _nav(pages: Sequence[Page], here: str) -> str:
    links = [("index", "Dashboards")] + [(p.slug, p.title.split(":")[0]) for p in pages]
    return "".join(
        f'<a href="{slug}.html"{" class=here" if slug == here else ""}>{html.escape(text)}</a>'
        for slug, text in links
    )


def _table(rows: list[dict]) -> str:
    head = "".join(f"<th>{html.escape(str(name))}</th>" for name in rows[0])
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{value:,}</td>'
            if isinstance(value, int | float) and not isinstance(value, bool)
            else f"<td>{html.escape('' if value is None else str(value))}</td>"
            for value in row.values()
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(section: Section, chart_id: str, specs: dict[str, dict]) -> str:
    parts = [f"<h2>{html.escape(section.title)}</h2>"]
    if section.text:
        parts.append(f'<p class="note">{html.escape(section.text)}</p>')
    if section.chart is not None:
        specs[chart_id] = section.chart
        parts.append(f'<div class="chart" id="{chart_id}"></div>')
    elif section.table:
        parts.append(_table(section.table))
    else:
        parts.append(f'<p class="empty">{html.escape(section.empty)}</p>')
    return "\n".join(parts)


def _document(title: str, nav: str, body: str, script: str = "") -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)} · eventlake</title><style>{STYLE}</style></head>
<body><header>{nav}</header><main>{body}</main>{script}</body></html>
"""


def render_page(page: Page, pages: Sequence[Page], generated: str) -> str:
    specs: dict[str, dict] = {}
    sections = "\n".join(
        _section(section, f"chart-{n}", specs) for n, section in enumerate(page.sections, 1)
    )
    body = (
        f"<h1>{html.escape(page.title)}</h1>"
        f'<p class="note">{html.escape(page.intro)} Generated {html.escape(generated)}.</p>'
        f"{sections}"
    )
    # Each chart marks itself rendered (or failed) so a browser test can wait for it.
    payload = json.dumps(specs).replace("</", "<\\/")
    script = f"""<script src="{BUNDLE_FILE}"></script>
<script>
const specs = {payload};
for (const [id, spec] of Object.entries(specs)) {{
  const el = document.getElementById(id);
  vegaEmbed(el, spec, {{actions: false, renderer: "svg"}})
    .then(() => {{ el.dataset.rendered = "true"; }})
    .catch((err) => {{ el.dataset.rendered = "failed"; console.error(id, err); }});
}}
</script>"""
    return _document(page.title, _nav(pages, page.slug), body, script)


def render_index(pages: Sequence[Page], generated: str, warehouse: str) -> str:
    items = "".join(
        f'<li><a href="{p.slug}.html">{html.escape(p.title)}</a>: {html.escape(p.intro)}</li>'
        for p in pages
    )
    body = (
        "<h1>eventlake dashboards</h1>"
        f'<p class="note">Generated {html.escape(generated)} from {html.escape(warehouse)}.'
        " Every page works offline: the chart library is a local file beside the pages.</p>"
        f"<ul>{items}</ul>"
    )
    return _document("Dashboards", _nav(pages, "index"), body)
