"""The dashboards' charts as Vega-Lite specs, built with Altair; data is inlined in each spec."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import altair as alt

from orchestration.dashboards.queries import Rows

WIDTH = 860
QUARTILE_COLOURS = ["#9ecae1", "#4292c6", "#08519c", "#e7298a"]  # 4 = deepest, pink as the seed


def _data(rows: Rows) -> alt.Data:
    return alt.Data(values=rows)


def _without_rows(spec: object) -> object:
    """``spec`` with each inline dataset cut to its first row."""
    if isinstance(spec, dict):
        return {
            key: value[:1] if key == "values" and isinstance(value, list) else _without_rows(value)
            for key, value in spec.items()
        }
    if isinstance(spec, list):
        return [_without_rows(item) for item in spec]
    return spec


def _spec(chart: alt.TopLevelMixin) -> dict:
    """``chart`` as a Vega-Lite spec, checked against Vega-Lite's schema with one row per
    dataset: Altair's own check walks every inlined row, which was most of the pages' time."""
    spec = chart.to_dict(validate=False)
    alt.vegalite.v6.schema.core.Root.validate(_without_rows(spec))
    return spec


def temperature_over_time(series: Rows, events: Rows) -> dict:
    line = (
        alt.Chart(_data(series))
        .mark_line(strokeWidth=1)
        .encode(
            x=alt.X("time_utc:T", title="reading time (UTC)"),
            y=alt.Y("temperature_c:Q", title="°C", scale=alt.Scale(zero=False)),
            color=alt.Color("room_id:N", title="room"),
            tooltip=["room_id:N", "time_utc:T", "temperature_c:Q"],
        )
    )
    marks = (
        alt.Chart(_data(events))
        .mark_point(shape="triangle-up", size=90, filled=True, color="#d62728")
        .encode(
            x="time_utc:T",
            y="temperature_c:Q",
            tooltip=[
                "room_id:N",
                "anomaly_event_id:N",
                "time_utc:T",
                "temperature_c:Q",
                "max_score:Q",
                "flagged_readings:Q",
            ],
        )
    )
    return _spec(alt.layer(line, marks).properties(width=WIDTH, height=320))


def daily_min_mean_max(days: Rows) -> dict:
    base = alt.Chart(_data(days)).encode(
        x=alt.X("event_date:T", title="day (UTC)", timeUnit="yearmonthdate"),
        color=alt.Color("room_id:N", title="room"),
    )
    band = base.mark_area(opacity=0.2).encode(
        y=alt.Y("min_c:Q", title="°C (band: min to max; line: mean)", scale=alt.Scale(zero=False)),
        y2="max_c:Q",
    )
    mean = base.mark_line(point=True).encode(
        y="mean_c:Q", tooltip=["room_id:N", "event_date:T", "min_c:Q", "mean_c:Q", "max_c:Q"]
    )
    return _spec(alt.layer(band, mean).properties(width=WIDTH, height=260))


def coverage(days: Rows) -> dict:
    return _spec(
        alt.Chart(_data(days))
        .mark_rect()
        .encode(
            x=alt.X("event_date:O", title="day (UTC)", timeUnit="yearmonthdate"),
            y=alt.Y("room_id:N", title="room"),
            color=alt.Color(
                "coverage:Q", title="coverage", scale=alt.Scale(domain=[0, 1], scheme="greens")
            ),
            tooltip=[
                "room_id:N",
                "event_date:T",
                "reading_count:Q",
                "expected_reading_count:Q",
                alt.Tooltip("coverage:Q", format=".1%"),
            ],
        )
        .properties(width=WIDTH, height=30 * max(1, len({r["room_id"] for r in days})))
    )


def jam_heatmap(cells: Rows) -> dict:
    segments = len({r["segment_id"] for r in cells})
    return _spec(
        alt.Chart(_data(cells))
        .mark_rect()
        .encode(
            x=alt.X("hour:O", title="measurement hour (UTC)", timeUnit="yearmonthdatehours"),
            y=alt.Y("segment_id:N", title="segment", sort="ascending"),
            color=alt.Color(
                "jam_share:Q", title="share of minutes jammed", scale=alt.Scale(scheme="reds")
            ),
            tooltip=[
                "segment_id:N",
                "hour:T",
                alt.Tooltip("jam_share:Q", format=".0%"),
                "jam_minutes:Q",
            ],
        )
        .properties(width=WIDTH, height=max(120, 12 * segments))
    )


def most_jammed(segments: Rows) -> dict:
    return _spec(
        alt.Chart(_data(segments))
        .mark_bar()
        .encode(
            x=alt.X("jam_minutes:Q", title="minutes with the segment jam indicator at 1"),
            y=alt.Y("segment_id:N", title="segment", sort="-x"),
            color=alt.Color("road:N"),
            tooltip=[
                "segment_id:N",
                "road:N",
                "direction:N",
                "jam_minutes:Q",
                "lowest_speed_kmh:Q",
            ],
        )
        .properties(width=WIDTH - 160, height=24 * max(1, len(segments)))
    )


def segment_speed(speeds: Rows, segments: list[str], chosen: str) -> dict:
    pick = alt.param(
        name="segment",
        value=chosen,
        bind=alt.binding_select(options=segments, name="segment "),
    )
    return _spec(
        alt.Chart(_data(speeds))
        .mark_line(strokeWidth=1)
        .encode(
            x=alt.X("time_utc:T", title="measurement time (UTC)"),
            y=alt.Y("speed_kmh:Q", title="mean speed of the segment's lanes (km/h)"),
            tooltip=["segment_id:N", "time_utc:T", "speed_kmh:Q", "jam_indicator:Q"],
        )
        .add_params(pick)
        .transform_filter(alt.datum.segment_id == pick)
        .properties(width=WIDTH, height=260)
    )


@cache
def _land() -> dict:
    text = resources.files("orchestration.dashboards").joinpath("assets/land-110m.json")
    return json.loads(text.read_text())


def seismic_map(events: Rows) -> dict:
    land = alt.Chart(
        alt.Data(values=_land(), format=alt.DataFormat(type="topojson", feature="land"))
    ).mark_geoshape(fill="#e8e4d8", stroke="#b8b2a0", strokeWidth=0.5)
    points = (
        alt.Chart(_data(events))
        .mark_circle(opacity=0.8, stroke="#333", strokeWidth=0.3)
        .encode(
            longitude="longitude:Q",
            latitude="latitude:Q",
            color=alt.Color(
                "depth_quartile:O",
                title="UTM zone depth quartile (4 = deepest)",
                scale=alt.Scale(domain=[1, 2, 3, 4], range=QUARTILE_COLOURS),
            ),
            size=alt.Size("magnitude:Q", scale=alt.Scale(range=[10, 160])),
            tooltip=[
                "event_id:N",
                "event_at:T",
                "region:N",
                "depth_km:Q",
                "magnitude:Q",
                "utm_zone_band:N",
                "depth_quartile:O",
            ],
        )
    )
    return _spec(
        alt.layer(land, points).project(type="equalEarth").properties(width=WIDTH, height=440)
    )


def quarantine_over_time(lines: Rows) -> dict:
    return _spec(
        alt.Chart(_data(lines))
        .mark_bar()
        .encode(
            x=alt.X("landed_on:O", title="landed on (UTC)", timeUnit="yearmonthdate"),
            y=alt.Y("sum(lines):Q", title="quarantined lines"),
            color=alt.Color("reason:N", title="rejection reason"),
            row=alt.Row("feed:N", title=None),
            tooltip=["feed:N", "reason:N", "landed_on:T", "lines:Q"],
        )
        .resolve_scale(y="independent")
        .properties(width=WIDTH - 260, height=110)
    )


def reconciliation(rows: Rows) -> dict:
    long = [
        {"feed": row["feed"], "outcome": outcome, "rows": row[outcome]}
        for row in rows
        for outcome in ("accepted", "quarantined", "unaccounted")
    ]
    return _spec(
        alt.Chart(_data(long))
        .mark_bar()
        .encode(
            y=alt.Y("feed:N", title=None),
            x=alt.X("rows:Q", title="share of landed lines", stack="normalize"),
            color=alt.Color(
                "outcome:N",
                scale=alt.Scale(
                    domain=["accepted", "quarantined", "unaccounted"],
                    range=["#4c9a2a", "#f0a202", "#d62728"],
                ),
            ),
            tooltip=["feed:N", "outcome:N", "rows:Q"],
        )
        .properties(width=WIDTH - 200, height=30 * max(1, len(rows)))
    )


def freshness(rows: Rows) -> dict:
    known = [row for row in rows if row["age_hours"] is not None]
    return _spec(
        alt.Chart(_data(known))
        .mark_bar()
        .encode(
            y=alt.Y("source:N", title=None),
            x=alt.X("age_hours:Q", title="hours since the newest load"),
            color=alt.Color(
                "status:N",
                scale=alt.Scale(
                    domain=["pass", "warn", "error"], range=["#4c9a2a", "#f0a202", "#d62728"]
                ),
            ),
            tooltip=[
                "source:N",
                "last_loaded_at:N",
                "age_hours:Q",
                "warn_after_hours:Q",
                "error_after_hours:Q",
                "status:N",
            ],
        )
        .properties(width=WIDTH - 200, height=26 * max(1, len(known)))
    )
