"""What each dashboard page holds: sections of charts and tables, read from the marts."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from orchestration.dashboards import charts, queries
from orchestration.dashboards.queries import Rows
from orchestration.relations import Relations


@dataclass(frozen=True)
class Section:
    title: str
    text: str = ""
    chart: dict | None = None  # a Vega-Lite spec
    table: Rows | None = None
    empty: str = ""  # said instead of the chart or table when there is nothing to show


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    intro: str
    sections: list[Section] = field(default_factory=list)


def _chart(title: str, text: str, rows: Rows, build, *, empty: str) -> Section:
    """A chart section, or a sentence saying why there is none (never an empty chart)."""
    if not rows:
        return Section(title, text, empty=empty)
    return Section(title, text, chart=build())


def rooms_page(con: duckdb.DuckDBPyConnection, rel: Relations) -> Page:
    series = queries.room_series(con, rel)
    events = queries.room_anomaly_events(con, rel)
    days = queries.room_days(con, rel)
    return Page(
        "rooms",
        "Rooms: temperature",
        "Exposures `temperature_dashboard` and `anomaly_dashboard`: marts"
        " fct_room_temperature_series, agg_room_daily_temperatures, fct_temperature_anomalies,"
        " dim_rooms.",
        [
            _chart(
                "Temperature per room over time",
                f"Mean of each {queries.ROOM_SERIES_BUCKET_MINUTES}-minute bucket; red triangles"
                f" mark the {len(events)} anomaly events (Random Cut Forest or stuck-sensor"
                " rule; at each event's highest-scoring reading).",
                series,
                lambda: charts.temperature_over_time(series, events),
                empty="No readings yet: run `eventlake demo` or `eventlake build`.",
            ),
            _chart(
                "Daily minimum, mean and maximum per room",
                "",
                days,
                lambda: charts.daily_min_mean_max(days),
                empty="No daily statistics yet.",
            ),
            _chart(
                "Coverage: readings received / readings expected at the configured cadence",
                "",
                days,
                lambda: charts.coverage(days),
                empty="No daily statistics yet.",
            ),
            Section("Rooms", table=queries.room_table(con, rel), empty="No room has readings."),
        ],
    )


def traffic_page(con: duckdb.DuckDBPyConnection, rel: Relations) -> Page:
    cells = queries.jam_heatmap(con, rel)
    jammed = queries.most_jammed(con, rel)
    speeds = queries.segment_speeds(con, rel)
    segments = sorted({row["segment_id"] for row in speeds})
    chosen = jammed[0]["segment_id"] if jammed else (segments[0] if segments else "")
    return Page(
        "traffic",
        "Traffic: jams by road segment",
        "Exposure `traffic_jam_dashboard`: marts agg_traffic_segment_minutes and"
        " fct_traffic_measurements.",
        [
            _chart(
                "Jam indicator per segment and hour",
                "Share of the minutes with a known segment jam indicator that were jammed"
                " (indicator 1: mean speed at or below the jam threshold).",
                cells,
                lambda: charts.jam_heatmap(cells),
                empty="No traffic measurements yet.",
            ),
            _chart(
                "Most jammed segments",
                "",
                jammed,
                lambda: charts.most_jammed(jammed),
                empty="No segment had a jammed minute.",
            ),
            _chart(
                "Speed over time for a chosen segment",
                f"Pick a segment below the chart; {queries.SPEED_BUCKET_MINUTES}-minute means."
                " It opens on the most jammed segment.",
                speeds,
                lambda: charts.segment_speed(speeds, segments, chosen),
                empty="No speeds measured yet.",
            ),
        ],
    )


def seismic_page(con: duckdb.DuckDBPyConnection, rel: Relations) -> Page:
    events = queries.seismic_events(con, rel)
    return Page(
        "seismic",
        "Seismic events and subduction zones",
        "Exposure `subduction_zone_map`: marts fct_seismic_events and agg_seismic_utm_zones."
        " Each zone's depth quartile is NTILE(4) over the zones' average depths (4 = deepest).",
        [
            _chart(
                "Events on a world map, coloured by their UTM zone's depth quartile",
                "Size is magnitude. Land: Natural Earth 1:110m.",
                events,
                lambda: charts.seismic_map(events),
                empty="No seismic events yet.",
            ),
            Section("UTM zones", table=queries.seismic_zones(con, rel), empty="No UTM zones yet."),
        ],
    )


def quality_page(
    con: duckdb.DuckDBPyConnection, rel: Relations, run_in_progress: str | None = None
) -> Page:
    """``run_in_progress``: what to say of the run writing this page (`eventlake run`'s last
    step), whose record is written only once it has finished."""
    quarantined = queries.quarantine_over_time(con, rel)
    reconciled = queries.reconciliation(con, rel)
    fresh = queries.freshness(con, rel)
    runs = queries.run_history(con, rel)
    latest = f"Latest {queries.RUN_HISTORY_ROWS_SHOWN} records of `{queries.RUN_HISTORY_RELATION}`."
    run_section = (
        Section(
            "Pipeline run history",
            f"{latest} {run_in_progress}" if run_in_progress else latest,
            table=runs,
            empty="The run history is empty.",
        )
        if runs is not None
        else Section(
            "Pipeline run history",
            empty=f"No run history yet: the dbt project has no `{queries.RUN_HISTORY_RELATION}`"
            " relation.",
        )
    )
    return Page(
        "quality",
        "Data quality",
        "The quarantine, the reconciliation of every feed and the freshness of every source.",
        [
            _chart(
                "Quarantined lines per feed and reason, by landing day",
                "",
                quarantined,
                lambda: charts.quarantine_over_time(quarantined),
                empty="Nothing quarantined.",
            ),
            _chart(
                "Reconciliation per feed: lines landed = accepted + quarantined",
                "",
                reconciled,
                lambda: charts.reconciliation(reconciled),
                empty="No feed has landed anything.",
            ),
            Section("Reconciliation figures", table=reconciled),
            Section(
                "Conflicting duplicates",
                "Readings claimed with different values for the same room and time. The live feed"
                " wins over the database extract over history files; within a feed the latest"
                " landing wins. Each one: model `int_temperature_reading_conflicts`.",
                table=queries.conflicts(con, rel),
                empty="No conflicting duplicates.",
            ),
            _chart(
                "Freshness per source",
                "Hours since each source's newest load, judged by its dbt freshness rule.",
                [row for row in fresh if row["age_hours"] is not None],
                lambda: charts.freshness(fresh),
                empty="No source has loaded anything.",
            ),
            Section("Freshness figures", table=fresh),
            run_section,
        ],
    )


PAGES = (rooms_page, traffic_page, seismic_page, quality_page)
