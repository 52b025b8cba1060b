"""What a pipeline run produced, read back from the local warehouse for the run's report."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from ingestion.settings import LakePaths

LAYERS = (
    ("raw lines (firehose)", "raw.sensor_readings"),
    ("raw lines (history files)", "raw.sensor_history"),
    ("raw lines (db extract)", "raw.sensor_db_extract"),
    ("staging: firehose", "main_staging.stg_sensor_firehose__readings"),
    ("staging: history files", "main_staging.stg_sensor_history__readings"),
    ("staging: db extract", "main_staging.stg_sensor_db__temperatures"),
    ("accepted readings (all feeds)", "main_intermediate.int_temperature_readings_unioned"),
    ("quarantined lines", "main_quarantine.quarantine_rejected_rows"),
    ("fct_temperature_readings", "main_marts.fct_temperature_readings"),
    ("agg_room_daily_temperatures", "main_marts.agg_room_daily_temperatures"),
    ("fct_room_temperature_series", "main_marts.fct_room_temperature_series"),
    ("dim_rooms", "main_marts.dim_rooms"),
    ("raw lines (seismic daily files)", "raw.seismic_events"),
    ("staging: seismic features", "main_staging.stg_seismic__features"),
    ("fct_seismic_events", "main_marts.fct_seismic_events"),
    ("agg_seismic_utm_zones", "main_marts.agg_seismic_utm_zones"),
)
DEEPEST_ZONES_SHOWN = 8


@dataclass
class RunSummary:
    layer_rows: list[tuple[str, int]] = field(default_factory=list)
    quarantine: list[tuple[str, str, int]] = field(default_factory=list)
    rooms: list[tuple] = field(default_factory=list)
    deepest_zones: list[tuple] = field(default_factory=list)

    def render(self) -> str:
        lines = ["Rows per layer:"]
        width = max(len(name) for name, _ in self.layer_rows) if self.layer_rows else 10
        lines += [f"  {name:<{width}}  {count:>12,}" for name, count in self.layer_rows]
        lines.append("Quarantined lines by feed and reason:")
        if not self.quarantine:
            lines.append("  (none)")
        lines += [
            f"  {feed:<14} {reason:<26} {count:>8,}" for feed, reason, count in self.quarantine
        ]
        lines.append("Per-room statistics (all days):")
        lines.append(
            f"  {'room':<6} {'readings':>9} {'min °C':>7} {'mean °C':>8} {'max °C':>7}"
            f" {'stddev':>7} {'coverage':>9}"
        )
        lines += [
            f"  {room:<6} {count:>9,} {low:>7.2f} {mean:>8.2f} {high:>7.2f} {sd:>7.2f} {cov:>8.1%}"
            for room, count, low, mean, high, sd, cov in self.rooms
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


def read_summary(paths: LakePaths) -> RunSummary:
    summary = RunSummary()
    with duckdb.connect(str(paths.duckdb_file), read_only=True) as con:
        for name, relation in LAYERS:
            summary.layer_rows.append(
                (name, con.execute(f"select count(*) from {relation}").fetchone()[0])
            )
        summary.quarantine = con.execute(
            "select feed, rejection_reason, count(*) from main_quarantine.quarantine_rejected_rows"
            " group by all order by 1, 3 desc, 2"
        ).fetchall()
        summary.rooms = con.execute(
            "select room_id, sum(reading_count), min(min_temperature_c),"
            " sum(mean_temperature_c * reading_count) / sum(reading_count),"
            " max(max_temperature_c),"
            " (select stddev_samp(temperature_c) from main_marts.fct_temperature_readings f"
            "   where f.room_id = d.room_id),"
            " sum(reading_count) / sum(expected_reading_count)"
            " from main_marts.agg_room_daily_temperatures d group by room_id order by room_id"
        ).fetchall()
        summary.deepest_zones = con.execute(
            "select utm_zone_band, event_count, avg_depth_km, max_depth_km, avg_magnitude,"
            " avg_latitude, avg_longitude from main_marts.agg_seismic_utm_zones"
            " where depth_quartile = 4 order by avg_depth_km desc, utm_zone_band limit ?",
            [DEEPEST_ZONES_SHOWN],
        ).fetchall()
    return summary
