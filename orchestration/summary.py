"""What a pipeline run produced, read back from the local warehouse for the run's report."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from ingestion.settings import LakePaths
from orchestration.duckdb_functions import register_functions
from orchestration.relations import ManifestError, Relations

# Label, then the dbt model's name or the (source, table) of a raw feed.
LAYERS: tuple[tuple[str, str | tuple[str, str]], ...] = (
    ("raw lines (firehose)", ("sensor_firehose", "readings")),
    ("raw lines (history files)", ("sensor_history", "readings")),
    ("raw lines (db extract)", ("sensor_db", "temperatures")),
    ("staging: firehose", "stg_sensor_firehose__readings"),
    ("staging: history files", "stg_sensor_history__readings"),
    ("staging: db extract", "stg_sensor_db__temperatures"),
    ("accepted readings (all feeds)", "int_temperature_readings_unioned"),
    ("conflicting duplicates", "int_temperature_reading_conflicts"),
    ("quarantined lines", "quarantine_rejected_rows"),
    ("fct_temperature_readings", "fct_temperature_readings"),
    ("agg_room_daily_temperatures", "agg_room_daily_temperatures"),
    ("fct_room_temperature_series", "fct_room_temperature_series"),
    ("dim_rooms", "dim_rooms"),
    ("raw lines (traffic)", ("traffic_firehose", "measurements")),
    ("staging: traffic", "stg_traffic_firehose__measurements"),
    ("fct_traffic_measurements", "fct_traffic_measurements"),
    ("agg_traffic_segment_minutes", "agg_traffic_segment_minutes"),
    ("raw lines (seismic daily files)", ("seismic", "events")),
    ("staging: seismic features", "stg_seismic__features"),
    ("fct_seismic_events", "fct_seismic_events"),
    ("agg_seismic_utm_zones", "agg_seismic_utm_zones"),
)
DEEPEST_ZONES_SHOWN = 8
_NAMES = {relation for _, relation in LAYERS} | {
    "quarantine_rejected_rows",
    "fct_temperature_readings",
    "agg_room_daily_temperatures",
    "fct_traffic_measurements",
    "agg_traffic_segment_minutes",
    "agg_seismic_utm_zones",
    "int_temperature_reading_conflicts",
    "dim_rooms",
}


@dataclass
class RunSummary:
    layer_rows: list[tuple[str, int]] = field(default_factory=list)
    quarantine: list[tuple[str, str, int]] = field(default_factory=list)
    # conflict kind (within_feed | between_feeds), readings, losing lines
    conflicts: list[tuple[str, int, int]] = field(default_factory=list)
    rooms: list[tuple] = field(default_factory=list)
    # measurements, of which landed in another hour than measured, hours, late-arrival hours
    traffic: tuple[int, int, int] = (0, 0, 0)
    jam_segments: list[tuple] = field(default_factory=list)
    anomalies: list[tuple] = field(default_factory=list)
    deepest_zones: list[tuple] = field(default_factory=list)

    def render(self) -> str:
        lines = ["Rows per layer:"]
        width = max(len(name) for name, _ in self.layer_rows) if self.layer_rows else 10
        lines += [f"  {name:<{width}}  {count:>12,}" for name, count in self.layer_rows]
        lines.append("Quarantined lines by feed and reason:")
        if not self.quarantine:
            lines.append("  (none)")
        lines += [
            f"  {feed:<16} {reason:<26} {count:>8,}" for feed, reason, count in self.quarantine
        ]
        lines += self._conflict_lines()
        lines.append("Per-room statistics (all days; coverage against each room's cadence):")
        lines.append(
            f"  {'room':<6} {'readings':>9} {'min °C':>7} {'mean °C':>8} {'max °C':>7}"
            f" {'stddev':>7} {'coverage':>9} {'cadence':>18}"
        )
        lines += [
            f"  {room:<6} {count:>9,} {low:>7.2f} {mean:>8.2f} {high:>7.2f} {_num(sd, '7.2f')}"
            f" {cov:>8.1%} {f'{interval:,} s ({source})':>18}"
            for room, count, low, mean, high, sd, cov, interval, source in self.rooms
        ]
        measurements, elsewhere, hours = self.traffic
        lines.append(
            f"Traffic: {measurements:,} measurements in {hours:,} measurement-hour partitions;"
            f" {elsewhere:,} landed in another hour than they were measured in"
        )
        lines.append("Most jammed road segments (minutes with segment jam indicator 1):")
        if not self.jam_segments:
            lines.append("  (none)")
        lines += [
            f"  {segment:<12} {direction:<20} {minutes:>5,} min  lowest {low:>5.1f} km/h"
            for segment, direction, minutes, low in self.jam_segments
        ]
        if self.anomalies:
            lines.append("Anomalies found per room (Random Cut Forest and the stuck-sensor rule):")
            lines.append(f"  {'room':<6} {'scored':>9} {'flagged':>8} {'events':>7} {'days':>5}")
            lines += [
                f"  {room:<6} {scored:>9,} {flagged:>8,} {events:>7,} {days:>5}"
                for room, scored, flagged, events, days in self.anomalies
            ]
        lines.append("Deepest-quartile UTM zones (quartile 4 of NTILE(4) over average depth):")
        if not self.deepest_zones:
            lines.append("  (none)")
        else:
            lines.append(
                f"  {'zone':<5} {'events':>7} {'avg km':>7} {'max km':>7} {'avg mag':>7}"
                f" {'lat':>8} {'lon':>9}"
            )
        lines += [
            f"  {zone:<5} {n:>7,} {avg:>7.1f} {deepest:>7.1f} {mag:>7.2f} {lat:>8.2f} {lon:>9.2f}"
            for zone, n, avg, deepest, mag, lat, lon in self.deepest_zones
        ]
        return "\n".join(lines)

    def _conflict_lines(self) -> list[str]:
        readings = sum(n for _, n, _ in self.conflicts)
        if not readings:
            return ["Conflicting duplicates (same room and time, different values): none"]
        by_kind = {kind: (n, lost) for kind, n, lost in self.conflicts}
        within, within_lost = by_kind.get("within_feed", (0, 0))
        between, between_lost = by_kind.get("between_feeds", (0, 0))
        return [
            f"Conflicting duplicates (same room and time, different values): {readings:,} readings",
            f"  within one feed (latest landing won)      {within:>9,} readings,"
            f" {within_lost:,} losing lines",
            f"  between feeds (live > db extract > files) {between:>9,} readings,"
            f" {between_lost:,} losing lines",
            "  every one, with its winning and losing values: int_temperature_reading_conflicts",
        ]


def _num(value: float | None, spec: str) -> str:
    """A number in ``spec``, or a dash of the same width when there is none (one reading)."""
    width = int(spec.split(".")[0])
    return f"{value:{spec}}" if value is not None else f"{'-':>{width}}"


def _relation(relations: Relations, name: str | tuple[str, str]) -> str:
    if isinstance(name, tuple):  # a source table: (source, table)
        return relations.source(*name)
    found = relations.find(name)
    if found is None:
        raise ManifestError(f"{name!r} is not in the dbt manifest; run `eventlake build` first")
    return found


def read_summary(paths: LakePaths, relations: Relations | None = None) -> RunSummary:
    relations = relations or Relations.from_manifest()
    # Every relation by its dbt name, located through the manifest (never a hard-coded schema).
    rel = {name: _relation(relations, name) for name in _NAMES}
    summary = RunSummary()
    with register_functions(duckdb.connect(str(paths.duckdb_file), read_only=True)) as con:
        for name, relation in LAYERS:
            summary.layer_rows.append(
                (name, con.execute(f"select count(*) from {rel[relation]}").fetchone()[0])
            )
        summary.quarantine = con.execute(
            "select feed, rejection_reason, count(*)"
            f" from {rel['quarantine_rejected_rows']} group by all order by 1, 3 desc, 2"
        ).fetchall()
        summary.conflicts = con.execute(
            "select conflict_kind, count(*), sum(losing_line_count)"
            f" from {rel['int_temperature_reading_conflicts']} group by 1 order by 1"
        ).fetchall()
        summary.rooms = con.execute(
            "select d.room_id, sum(d.reading_count), min(d.min_temperature_c),"
            " sum(d.mean_temperature_c * d.reading_count) / sum(d.reading_count),"
            " max(d.max_temperature_c),"
            f" (select stddev_samp(temperature_c) from {rel['fct_temperature_readings']} f"
            "   where f.room_id = d.room_id),"
            " sum(d.reading_count) / sum(d.expected_reading_count),"
            " any_value(d.expected_interval_seconds), any_value(r.cadence_source)"
            f" from {rel['agg_room_daily_temperatures']} d"
            f" left join {rel['dim_rooms']} r on r.room_id = d.room_id"
            " group by d.room_id order by d.room_id"
        ).fetchall()
        summary.traffic = con.execute(
            "select count(*), count(*) filter (date_trunc('hour', landed_at) <> measured_hour),"
            f" count(distinct measured_hour) from {rel['fct_traffic_measurements']}"
        ).fetchone()
        summary.jam_segments = con.execute(
            "select segment_id, direction, count(*), min(min_speed_kmh)"
            f" from {rel['agg_traffic_segment_minutes']} where segment_jam_indicator = 1"
            " group by all order by 3 desc, 1 limit 5"
        ).fetchall()
        summary.anomalies = _anomalies_per_room(con, relations.find("fct_temperature_anomalies"))
        summary.deepest_zones = con.execute(
            "select utm_zone_band, event_count, avg_depth_km, max_depth_km, avg_magnitude,"
            f" avg_latitude, avg_longitude from {rel['agg_seismic_utm_zones']}"
            " where depth_quartile = 4 order by avg_depth_km desc, utm_zone_band limit ?",
            [DEEPEST_ZONES_SHOWN],
        ).fetchall()
    return summary


def _anomalies_per_room(con: duckdb.DuckDBPyConnection, relation: str | None) -> list[tuple]:
    """Per room: readings scored, flagged, anomaly events and days with one (none if unbuilt)."""
    if relation is None:
        return []
    try:
        return con.execute(
            "select room_id, count(*), count(*) filter (where is_anomaly),"
            " count(distinct anomaly_event_id),"
            " count(distinct reading_date) filter (where is_anomaly)"
            f" from {relation} group by room_id order by room_id"
        ).fetchall()
    except duckdb.CatalogException:  # in the project, not built in this warehouse yet
        return []
