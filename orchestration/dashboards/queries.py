"""Read the marts for the dashboards: every query names its relations through the manifest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import duckdb

from orchestration.relations import Relations

# The pipeline's run records, a dbt source or model built by the orchestration issue. The data
# quality page shows them when the manifest has a relation of this name, and says so when not.
RUN_HISTORY_RELATION = "pipeline_runs"
RUN_HISTORY_ROWS_SHOWN = 25

# Rooms are charted at this resolution (a week of per-minute readings per room stays small).
ROOM_SERIES_BUCKET_MINUTES = 10
# Traffic speed lines are charted per segment at this resolution.
SPEED_BUCKET_MINUTES = 10
MOST_JAMMED_SHOWN = 10

# Per feed: where its lines land (source), and where its accepted rows are counted.
LINE_FEEDS = (
    ("firehose", ("sensor_firehose", "readings"), "int_temperature_readings_unioned", "firehose"),
    ("history_files", ("sensor_history", "readings"), "int_temperature_readings_unioned",
     "history_files"),
    ("db_extract", ("sensor_db", "temperatures"), "int_temperature_readings_unioned", "db_extract"),
    ("traffic_firehose", ("traffic_firehose", "measurements"), "stg_traffic_firehose__measurements",
     None),
)  # fmt: skip
_PERIOD = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}

Rows = list[dict[str, object]]


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> Rows:
    """Rows as JSON-ready dicts (dates and times in ISO form)."""
    cursor = con.execute(sql, params or [])
    names = [column[0] for column in cursor.description]
    return [
        {name: _plain(value) for name, value in zip(names, row, strict=True)}
        for row in cursor.fetchall()
    ]


# ---- rooms -----------------------------------------------------------------------------------


def room_series(con: duckdb.DuckDBPyConnection, rel: Relations) -> Rows:
    return fetch(
        con,
        f"""
        select room_id,
               time_bucket(interval '{ROOM_SERIES_BUCKET_MINUTES} minutes', reading_at) as time_utc,
               round(avg(temperature_c), 2) as temperature_c
        from {rel.model("fct_room_temperature_series")}
        group by all order by room_id, time_utc
        """,
    )


def room_anomaly_events(con: duckdb.DuckDBPyConnection, rel: Relations) -> Rows:
    """One point per anomaly event: its highest-scoring reading."""
    return fetch(
        con,
        f"""
        select room_id, anomaly_event_id,
               arg_max(reading_at, anomaly_score) as time_utc,
               arg_max(temperature_c, anomaly_score) as temperature_c,
               round(max(anomaly_score), 3) as max_score,
               count(*) as flagged_readings
        from {rel.model("fct_temperature_anomalies")}
        where is_anomaly
        group by all order by room_id, time_utc
        """,
    )


def room_days(con: duckdb.DuckDBPyConnection, rel: Relations) -> Rows:
    return fetch(
        con,
        f"""
        select room_id, event_date,
               round(min_temperature_c, 2) as min_c,
               round(mean_temperature_c, 2) as mean_c,
               round(max_temperature_c, 2) as max_c,
               reading_count, expected_reading_count,
               round(coverage_ratio, 4) as coverage
        from {rel.model("agg_room_daily_temperatures")}
        order by room_id, event_date
        """,
    )


def room_table(con: duckdb.DuckDBPyConnection, rel: Relations) -> Rows:
    return fetch(
        con,
        f"""
        with anomalies as (
            select room_id, count(distinct anomaly_event_id) as anomaly_events
            from {rel.model("fct_temperature_anomalies")}
            where is_anomaly
            group by room_id
        )
        select r.room_id as room, r.building, r.floor, r.sensor_model as sensor,
               r.reading_count as readings, r.first_reading_at as first_reading,
               r.last_reading_at as last_reading,
               coalesce(a.anomaly_events, 0) as anomaly_events
        from {rel.model("dim_rooms")} r
        left join anomalies a on a.room_id = r.room_id
        where r.reading_count > 0
        order by r.room_id
        """,
    )


# ---- traffic ---------------------------------------------------------------------------------


def jam_heatmap(con: duckdb.DuckDBPyConnection, rel: Relations) -> Rows:
    """Per segment and hour: the share of minutes with a known indicator that were jammed."""
    return fetch(
        con,
        f"""
        select segment_id, measured_hour as hour,
               round(count(*) filter (where segment_jam_indicator = 1)
                     / greatest(count(*) filter (where segment_jam_indicator >= 0), 1), 3)
                   as jam_share,
               count(*) filter (where segment_jam_indicator = 1) as jam_minutes
        from {rel.model("agg_traffic_segment_minutes")}
        group by all order by segment_id, hour
        """,
    )


def most_jammed(con: duckdb.DuckDBPyConnection, rel: Relations) -> Rows:
    return fetch(
        con,
        f"""
        select segment_id, road, direction,
               count(*) filter (where segment_jam_indicator = 1) as jam_minutes,
               round(min(min_speed_kmh), 1) as lowest_speed_kmh
        from {rel.model("agg_traffic_segment_minutes")}
        group by all
        having count(*) filter (where segment_jam_indicator = 1) > 0
        order by jam_minutes desc, segment_id
        limit {MOST_JAMMED_SHOWN}
        """,
    )


def segment_speeds(con: duckdb.DuckDBPyConnection, rel: Relations) -> Rows:
    return fetch(
        con,
        f"""
        select segment_id,
               time_bucket(interval '{SPEED_BUCKET_MINUTES} minutes', measured_minute) as time_utc,
               round(avg(avg_speed_kmh), 1) as speed_kmh,
               max(segment_jam_indicator) as jam_indicator
        from {rel.model("agg_traffic_segment_minutes")}
        where avg_speed_kmh is not null
        group by all order by segment_id, time_utc
        """,
    )


# ---- seismic ---------------------------------------------------------------------------------


def seismic_events(con: duckdb.DuckDBPyConnection, rel: Relations) -> Rows:
    return fetch(
        con,
        f"""
        select e.event_id, e.event_at, round(e.latitude, 3) as latitude,
               round(e.longitude, 3) as longitude, round(e.depth_km, 1) as depth_km,
               e.magnitude, e.flynn_region as region, z.utm_zone_band,
               z.depth_quartile
        from {rel.model("fct_seismic_events")} e
        join {rel.model("agg_seismic_utm_zones")} z
          on z.utm_zone = e.utm_zone and z.utm_band = e.utm_band
        order by e.event_at
        """,
    )


def seismic_zones(con: duckdb.DuckDBPyConnection, rel: Relations) -> Rows:
    return fetch(
        con,
        f"""
        select utm_zone_band as zone, depth_quartile as quartile, event_count as events,
               round(avg_depth_km, 1) as avg_depth_km, round(min_depth_km, 1) as min_depth_km,
               round(max_depth_km, 1) as max_depth_km, round(avg_magnitude, 2) as avg_magnitude,
               round(avg_latitude, 2) as avg_latitude, round(avg_longitude, 2) as avg_longitude
        from {rel.model("agg_seismic_utm_zones")}
        order by depth_quartile desc, avg_depth_km desc, utm_zone_band
        """,
    )


# ---- data quality ----------------------------------------------------------------------------


def quarantine_over_time(con: duckdb.DuckDBPyConnection, rel: Relations) -> Rows:
    return fetch(
        con,
        f"""
        select feed, rejection_reason as reason, cast(landed_at as date) as landed_on,
               count(*) as lines
        from {rel.model("quarantine_rejected_rows")}
        group by all order by feed, landed_on, reason
        """,
    )


def conflicts(con: duckdb.DuckDBPyConnection, rel: Relations) -> Rows:
    """Per room and kind: readings claimed with different values, and the lines that lost."""
    return fetch(
        con,
        f"""
        select room_id as room, conflict_kind as kind, count(*) as readings,
               sum(losing_line_count) as losing_lines, min(reading_at) as first_reading,
               max(reading_at) as last_reading
        from {rel.model("int_temperature_reading_conflicts")}
        group by all order by room, kind
        """,
    )


def reconciliation(con: duckdb.DuckDBPyConnection, rel: Relations) -> Rows:
    """Per feed: lines landed, rows accepted, rows quarantined, and what is unaccounted for.

    The same equation as the dbt reconciliation tests (tests/dbt/assert_every_*), counted here
    so the page shows the figures, not only pass or fail.
    """
    quarantine = rel.model("quarantine_rejected_rows")
    selects = []
    for feed, source, accepted_model, accepted_feed in LINE_FEEDS:
        accepted_where = (
            f"feed = '{accepted_feed}'" if accepted_feed else "rejection_reason is null"
        )
        selects.append(
            f"select '{feed}' as feed,"
            f" (select count(*) from {rel.source(*source)}) as landed,"
            f" (select count(*) from {rel.model(accepted_model)} where {accepted_where})"
            " as accepted,"
            f" (select count(*) from {quarantine} where feed = '{feed}') as quarantined"
        )
    # A seismic line is a daily FeatureCollection: its features are what is accepted or not.
    selects.append(
        "select 'seismic_events' as feed,"
        " (select coalesce(sum(case when json_valid(line)"
        "   and json_type(line, '$.features') = 'ARRAY'"
        "   then json_array_length(line, '$.features') else 1 end), 0)"
        f"  from {rel.source('seismic', 'events')}) as landed,"
        f" (select count(*) from {rel.model('int_seismic_event_versions')}) as accepted,"
        f" (select count(*) from {quarantine} where feed = 'seismic_events') as quarantined"
    )
    rows = fetch(con, " union all ".join(selects))
    for row in rows:
        row["unaccounted"] = row["landed"] - row["accepted"] - row["quarantined"]  # type: ignore[operator]
        row["status"] = "reconciled" if row["unaccounted"] == 0 else "MISMATCH"
    return rows


@dataclass(frozen=True)
class Freshness:
    source: str
    last_loaded_at: datetime | None
    warn_after: timedelta | None
    error_after: timedelta | None

    def status(self, now: datetime) -> str:
        if self.last_loaded_at is None:
            return "no data"
        age = now - self.last_loaded_at
        if self.error_after and age > self.error_after:
            return "error"
        if self.warn_after and age > self.warn_after:
            return "warn"
        return "pass"


def _after(rule: dict | None) -> timedelta | None:
    if not rule or rule.get("count") is None or rule.get("period") not in _PERIOD:
        return None
    return rule["count"] * _PERIOD[rule["period"]]


def freshness(con: duckdb.DuckDBPyConnection, rel: Relations, now: datetime | None = None) -> Rows:
    """Each source's newest load against its freshness rule, as `dbt source freshness` judges."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    rows: Rows = []
    for (source_name, table), (field, rule) in sorted(rel.freshness.items()):
        last = con.execute(f"select max({field}) from {rel.source(source_name, table)}").fetchone()[
            0
        ]
        if isinstance(last, datetime) and last.tzinfo is not None:
            last = last.astimezone(UTC).replace(tzinfo=None)
        item = Freshness(
            f"{source_name}.{table}", last, _after(rule.get("warn_after")),
            _after(rule.get("error_after")),
        )  # fmt: skip
        age = None if last is None else round((now - last).total_seconds() / 3600, 1)
        rows.append(
            {
                "source": item.source,
                "last_loaded_at": _plain(last),
                "age_hours": age,
                "warn_after_hours": _hours(item.warn_after),
                "error_after_hours": _hours(item.error_after),
                "status": item.status(now),
            }
        )
    return rows


def _hours(span: timedelta | None) -> float | None:
    return None if span is None else span.total_seconds() / 3600


def run_history(con: duckdb.DuckDBPyConnection, rel: Relations) -> Rows | None:
    """The pipeline's latest run records, or None while the project has no such relation."""
    relation = rel.find(RUN_HISTORY_RELATION)
    if relation is None:
        return None
    columns = con.execute(f"describe {relation}").fetchall()
    times = [name for name, kind, *_ in columns if kind.startswith("TIMESTAMP")]
    order = f"order by {times[0]} desc" if times else ""
    return fetch(con, f"select * from {relation} {order} limit {RUN_HISTORY_ROWS_SHOWN}")
