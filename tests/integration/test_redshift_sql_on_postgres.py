"""The Redshift SQL executed, not only parsed: every redshift__ macro (and default__ that Redshift
falls back to) that needs no SUPER runs on a real PostgreSQL server (Redshift's ancestor) on small
fixtures and must return the same rows as the DuckDB rendering of the same macro on DuckDB.

The SQL is rendered by dbt itself (`dbt compile --inline`, targets redshift and local), so what
runs is what the project would send. Where Redshift and PostgreSQL differ, this module says so:
- REWRITES: Redshift spellings PostgreSQL's grammar reads differently (a datepart written as a
  bare word, `dateadd(minute, ...)`, is a column reference to PostgreSQL); each is rewritten to
  the PostgreSQL equivalent of Redshift's documented meaning, and only those.
- SHIMS: Redshift functions PostgreSQL lacks, created as SQL functions with Redshift's
  documented behaviour (trunc(timestamp) -> date, convert_timezone, getdate, and
  round(double precision, n), which PostgreSQL has for numeric only).
- Not run here: SUPER navigation and JSON (json_parse, can_json_parse, json_typeof, PartiQL
  unnesting) and regexp_substr's 'e' flag have no PostgreSQL counterpart; they are parsed by the
  gate (tests/engines/test_cloud_sql_gate.py) only.
- Impossible dates: Redshift's to_timestamp accepts overflow (2026-04-31 -> 2026-05-01) while
  PostgreSQL's raises; the macros never reach either with such a text (calendar_date_is_valid),
  and test_overflowing_to_timestamp_is_caught shows the old macro fails here.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.dbt_runner import dbt_executable, ensure_profiles

pytestmark = pytest.mark.postgres

PROJECT = Path(__file__).resolve().parents[2]
FAKE_ENV = {
    "EVENTLAKE_REDSHIFT_HOST": "offline-compile.invalid",
    "EVENTLAKE_REDSHIFT_USER": "offline",
    "EVENTLAKE_REDSHIFT_PASSWORD": "offline",
    "AWS_REGION": "eu-west-1",
}

# Fixtures: (table, columns, rows); the column types are spelled the same on both databases.
TIMES = [
    "2024-02-29 12:00:00",  # leap year: valid
    "2025-02-29 12:00:00",  # common year: impossible
    "2000-02-29 00:00:00",  # divisible by 400: leap
    "1900-02-29 00:00:00",  # divisible by 100 only: impossible
    "2026-02-30 00:00:00",
    "2026-04-31 00:00:00",
    "2026-04-30 23:59:59",
    "2026-12-31 23:59:59",
    "2026-01-01 24:00:00",  # hour 24
    "0000-01-01 00:00:00",  # no year 0
    "2026-13-01 00:00:00",
    "2026-1-01 00:00:00",
    "not a time",
]
FIXTURES = {
    "fx_numbers": ("x double precision", [(1.5,), (-0.0,), (None,)]),
    "fx_times": ("t varchar", [(t,) for t in TIMES]),
    "fx_iso": (
        "t varchar",
        [(t.replace(" ", "T") + "Z",) for t in TIMES]
        + [("2026-03-01T10:00:00.123456Z",), ("2026-03-01T10:00:00+01:00",)],
    ),
    "fx_traffic": (
        "measurement_id integer, location_id integer, measured_at timestamp,"
        " speed double precision",
        [
            (1, 1, "2026-03-01 10:00:00", 50.0),
            (2, 1, "2026-03-01 10:01:00", 40.0),
            (3, 1, "2026-03-01 10:02:00", 30.0),
            (4, 1, "2026-03-01 10:05:00", 20.0),  # a gap: the 3-minute window holds only this row
            (5, 1, "2026-03-01 10:06:00", None),
            (6, 2, "2026-03-01 10:00:00", 90.0),
            (7, 2, "2026-03-01 10:04:00", 70.0),
        ],
    ),
    "fx_points": (
        "point_id integer, lat double precision, lon double precision",
        [
            (1, 50.85, 4.35),  # Brussels, 31U
            (2, 60.39, 5.32),  # Bergen, 32V (Norway exception)
            (3, 78.22, 15.65),  # Svalbard, 33X
            (4, -33.87, 151.21),  # Sydney, 56H (south)
            (5, 0.0, 180.0),  # +180 folds onto zone 1
            (6, 85.0, 10.0),  # outside UTM
            (7, -80.0, -70.0),
        ],
    ),
    "fx_lines": (
        "source_file varchar, landed_at timestamp, line varchar, read_error varchar",
        [
            ("s3://l/a", "2026-03-01 10:00:00", '{"a": 1}', None),
            ("s3://l/a", "2026-03-01 10:00:00", '{"a": 1}', None),
            ("s3://l/a", "2026-03-01 10:00:00", '{"a": 2}', None),
            ("s3://l/b", "2026-03-01 11:00:00", '{"a": 1}', None),
            ("s3://l/b", "2026-03-01 11:00:00", None, "not_utf8"),
        ],
    ),
    "fx_upstream": (
        "event_date date, staged_at timestamp",
        [
            ("2026-02-27", "2026-03-01 09:00:00"),
            ("2026-02-28", "2026-03-02 09:00:00"),  # late data in an old partition
            ("2026-03-02", "2026-03-02 09:00:00"),
            ("2026-03-02", "2026-03-02 10:00:00"),
        ],
    ),
    # Traffic staging: location 1 gets a late measurement at 10:45 (staged after the watermark
    # 12:00) whose windows reach until 13:55; location 3 a new one; location 2 nothing new.
    "fx_staged": (
        "location_id integer, measured_at timestamp, measured_hour timestamp,"
        " staged_at timestamp, rejection_reason varchar",
        [
            (1, "2026-03-01 08:50:00", "2026-03-01 08:00:00", "2026-03-01 11:30:00", None),
            (1, "2026-03-01 10:45:00", "2026-03-01 10:00:00", "2026-03-01 12:30:00", None),
            (1, "2026-03-01 11:10:00", "2026-03-01 11:00:00", "2026-03-01 11:30:00", None),
            (1, "2026-03-01 13:40:00", "2026-03-01 13:00:00", "2026-03-01 11:30:00", None),
            (1, "2026-03-01 14:10:00", "2026-03-01 14:00:00", "2026-03-01 11:30:00", None),
            (2, "2026-03-01 10:10:00", "2026-03-01 10:00:00", "2026-03-01 11:30:00", None),
            (3, "2026-03-01 12:05:00", "2026-03-01 12:00:00", "2026-03-01 12:30:00", None),
            (3, "2026-03-01 09:00:00", "2026-03-01 09:00:00", "2026-03-01 12:30:00", "bad"),
        ],
    ),
    "fx_epochs": (
        "seconds double precision, start_at timestamp, end_at timestamp",
        [
            (0.0, "2026-03-01 00:00:00", "2026-03-01 00:01:30"),
            (1772323200.5, "2026-03-29 00:30:00", "2026-03-29 03:30:00"),  # DST in Brussels
            (1761440400.0, "2026-10-25 00:30:00", "2026-10-25 01:30:00"),
        ],
    ),
    "fct_seismic_events": (
        "utm_zone integer, utm_band varchar, is_outside_utm boolean, depth_km double precision,"
        " magnitude double precision, latitude double precision, longitude double precision,"
        " event_at timestamp",
        [
            (54, "S", False, 41.0, 5.8, 38.1, 142.4, "2026-03-01 01:00:00"),
            (54, "S", False, 21.0, 4.2, 37.9, 141.9, "2026-03-01 02:00:00"),
            (1, "J", False, 412.0, 4.9, -24.9, -177.6, "2026-03-01 03:00:00"),
            (19, "K", False, 98.0, 4.4, -19.6, -71.4, "2026-03-01 04:00:00"),
            (33, "X", False, 10.0, 3.1, 78.2, 15.6, "2026-03-01 05:00:00"),
            (11, "S", False, 8.0, 3.5, 35.0, -118.0, "2026-03-01 06:00:00"),
            (None, None, True, 5.0, 3.0, 86.0, 10.0, "2026-03-01 07:00:00"),
        ],
    ),
    "int_seismic_event_versions": (
        "event_id varchar, event_at timestamp, last_updated_at timestamp, event_date date,"
        " latitude double precision, longitude double precision, depth_km double precision,"
        " magnitude double precision, magnitude_type varchar, event_type varchar,"
        " authority varchar, flynn_region varchar, source_event_id varchar,"
        " source_catalog varchar, feature_line_id varchar, source_file varchar,"
        " landed_at timestamp",
        [
            (
                "e1",
                "2026-03-01 01:00:00",
                "2026-03-01 02:00:00",
                "2026-03-01",
                1.0,
                2.0,
                10.0,
                4.0,
                "mb",
                "earthquake",
                "US",
                "r",
                "s1",
                "usgs",
                "f1",
                "s3://a",
                "2026-03-01 03:00:00",
            ),
            (
                "e1",
                "2026-03-01 01:00:00",
                "2026-03-01 05:00:00",
                "2026-03-01",
                1.0,
                2.0,
                12.0,
                4.1,
                "mb",
                "earthquake",
                "US",
                "r",
                "s1",
                "usgs",
                "f2",
                "s3://b",
                "2026-03-02 03:00:00",
            ),
            (
                "e1",
                "2026-03-01 01:00:00",
                "2026-03-01 05:00:00",
                "2026-03-01",
                1.0,
                2.0,
                12.0,
                4.1,
                "mb",
                "earthquake",
                "US",
                "r",
                "s1",
                "usgs",
                "f3",
                "s3://b",
                "2026-03-02 03:00:00",
            ),
            (
                "e2",
                "2026-03-01 04:00:00",
                "2026-03-01 04:00:00",
                "2026-03-01",
                3.0,
                4.0,
                33.0,
                5.0,
                "mww",
                "earthquake",
                "US",
                "q",
                "s2",
                "usgs",
                "f4",
                "s3://c",
                "2026-03-01 05:00:00",
            ),
        ],
    ),
}

MODEL_QUERIES = {  # models whose logic is the point (NTILE aggregate, de-duplication)
    "ntile_aggregate": "models/marts/seismic/agg_seismic_utm_zones.sql",
    "deduplication": "models/intermediate/seismic/int_seismic_events_deduplicated.sql",
}

MACRO_QUERIES = {
    "try_parse_timestamp": (
        "select t, {{ eventlake.try_parse_timestamp('t') }} as parsed from fx_times"
    ),
    "try_parse_iso8601_utc": (
        "select t, {{ eventlake.try_parse_iso8601_utc('t') }} as parsed from fx_iso"
    ),
    "trailing_time_averages": (
        "select measurement_id, avg_3m, avg_5m from ({{ eventlake.trailing_time_averages("
        "'fx_traffic', 'measurement_id', 'location_id', 'measured_at', 'speed',"
        " {'avg_3m': 3, 'avg_5m': 5}) }}) as windowed"
    ),
    "utm": (
        "with {{ eventlake.utm_ctes('fx_points', 'lat', 'lon', ['point_id']) }}"
        " select point_id, utm_zone, utm_band, utm_hemisphere, round(cast(utm_easting_m as"
        " decimal(12, 3)), 2) as easting, round(cast(utm_northing_m as decimal(12, 3)), 2)"
        " as northing, is_outside_utm from utm_projected"
    ),
    "number_identical_lines": (
        "select source_file, line, line_occurrence from"
        " ({{ eventlake.number_identical_lines('fx_lines') }}) as numbered"
    ),
    "raw_line_key": (
        "select {{ eventlake.raw_line_key('feed') }} as line_key from"
        " ({{ eventlake.number_identical_lines('fx_lines') }}) as numbered"
    ),
    "partitions_to_rebuild_first_run": (
        "{{ eventlake.partitions_to_rebuild_sql('fx_upstream', 'event_date', 'staged_at', none) }}"
    ),
    "partitions_to_rebuild_after_watermark": (
        "{{ eventlake.partitions_to_rebuild_sql('fx_upstream', 'event_date', 'staged_at',"
        ' "cast(\'2026-03-01 12:00:00\' as " ~ dbt.type_timestamp() ~ ")") }}'
    ),
    "traffic_slices": (
        "with {{ eventlake.traffic_slices_to_rebuild_ctes('fx_staged',"
        ' "cast(\'2026-03-01 12:00:00\' as " ~ dbt.type_timestamp() ~ ")") }},'
        " slices_to_read as ({{ eventlake.traffic_slices_to_read('traffic_slices_to_rebuild') }})"
        " select 'rebuild' as what, location_id, measured_hour from traffic_slices_to_rebuild"
        " union all select 'read', location_id, measured_hour from slices_to_read"
    ),
    "is_one_of": (
        "select event_date from fx_upstream where"
        " {{ eventlake.is_one_of('event_date', ['2026-02-28', '2026-03-02'], 'date') }}"
    ),
    "epochs_and_parts": (
        "select {{ eventlake.epoch_seconds_to_timestamp('seconds') }} as at,"
        " {{ eventlake.epoch_seconds_between('start_at', 'end_at') }} as seconds_between,"
        " {{ eventlake.date_part_int('hour', 'end_at') }} as end_hour,"
        " {{ eventlake.event_date('end_at') }} as end_date,"
        " {{ eventlake.utc_to_local('start_at', 'Europe/Brussels') }} as local_start"
        " from fx_epochs"
    ),
    "traffic_jam_indicator": (
        "select speed, {{ eventlake.traffic_jam_indicator('speed') }} as jam from fx_traffic"
    ),
    # A missing number stays null (so staging names the missing field, not non_finite_number).
    "json_finite": "select x, {{ eventlake.json_finite('x') }} as finite from fx_numbers",
}

# Redshift spelling -> PostgreSQL spelling of Redshift's documented meaning.
REWRITES = (
    # DATEADD(datepart, n, ts): PostgreSQL reads the bare datepart as a column.
    # (dbt.dateadd spreads it over lines; the amount may be a column)
    (re.compile(r"dateadd\(\s*(\w+),\s*(-?[\w.]+),\s*([\w.\"]+)\s*\)"),
     r"(\3 + (\2) * interval '1 \1')"),
    # DATEDIFF(second, a, b): whole datepart boundaries crossed; for seconds, the difference.
    (re.compile(r"datediff\(second, ([\w.\"]+), ([\w.\"]+)\)"),
     r"cast(extract(epoch from (\2 - \1)) as bigint)"),
    # DATE_PART(hour, ts): the datepart is a bare word on Redshift, a string on PostgreSQL.
    (re.compile(r"date_part\((\w+), "), r"date_part('\1', "),
)  # fmt: skip
SHIMS = (
    "create function trunc(timestamp) returns date language sql immutable"
    " as 'select cast($1 as date)'",
    "create function convert_timezone(text, text, timestamp) returns timestamp language sql"
    " immutable as 'select ($3 at time zone $1) at time zone $2'",
    # ROUND(double precision, n): Redshift rounds a double; PostgreSQL only a numeric.
    "create function round(double precision, integer) returns double precision language sql"
    " immutable as 'select cast(round(cast($1 as numeric), $2) as double precision)'",
    "create function getdate() returns timestamp language sql stable"
    " as 'select cast(now() at time zone ''UTC'' as timestamp(0))'",
)


def _template(target: str) -> str:
    parts = ["{%- set out = {} -%}"]
    queries = dict(MACRO_QUERIES)
    for name, path in MODEL_QUERIES.items():
        body = (PROJECT / path).read_text()
        body = re.sub(r"\{\{\s*config\(.*?\)\s*\}\}", "", body, flags=re.S)
        queries[name] = re.sub(r"\{\{\s*ref\('(\w+)'\)\s*\}\}", r"\1", body)
    for name, sql in queries.items():
        parts.append(f"{{%- set q %}}{sql}{{% endset -%}}{{%- do out.update({{'{name}': q}}) -%}}")
    parts.append("{{ tojson(out) }}")
    return "\n".join(parts)


def render(target: str, tmp_path: Path) -> dict[str, str]:
    project = ensure_profiles()
    completed = subprocess.run(
        [dbt_executable(), "compile", "--quiet", "--target", target, "--no-populate-cache",
         "--target-path", str(tmp_path / target), "--inline", _template(target),
         "--project-dir", str(project), "--profiles-dir", str(project)],
        cwd=project,
        env={**os.environ, **FAKE_ENV, "EVENTLAKE_DATA_DIR": str(tmp_path / "lake")},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    return json.loads(completed.stdout.strip())


def to_postgres(sql: str) -> str:
    for pattern, replacement in REWRITES:
        sql = pattern.sub(replacement, sql)
    return sql


def _value(value: object) -> object:
    """Rows compared across drivers: numbers to 6 decimals, times as ISO text."""
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _rows(rows: list[tuple]) -> list[tuple]:
    return sorted((tuple(_value(v) for v in row) for row in rows), key=repr)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("redshift-on-postgres")
    return {target: render(target, tmp) for target in ("redshift", "local")}


@pytest.fixture(scope="module")
def postgres(postgres_url: str):
    import psycopg

    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("drop schema if exists redshift_gate cascade")
        conn.execute("create schema redshift_gate")
        conn.execute("set search_path = redshift_gate")
        conn.execute("set timezone = 'UTC'")
        for shim in SHIMS:
            conn.execute(shim.replace("create function ", "create function redshift_gate."))
        _load(conn.execute, "%s")
        yield conn


@pytest.fixture(scope="module")
def duck():
    conn = duckdb.connect()
    conn.execute("set timezone = 'UTC'")
    _load(conn.execute, "?")
    yield conn
    conn.close()


def _load(execute, placeholder: str) -> None:
    for table, (columns, rows) in FIXTURES.items():
        execute(f"create table {table} ({columns})")
        for row in rows:
            execute(f"insert into {table} values ({', '.join([placeholder] * len(row))})", row)


def _postgres_rows(postgres, sql: str) -> list[tuple]:
    return _rows(postgres.execute(to_postgres(sql)).fetchall())


@pytest.mark.parametrize("name", [*MACRO_QUERIES, *MODEL_QUERIES])
def test_redshift_sql_on_postgres_matches_duckdb(name: str, rendered, postgres, duck):
    redshift_sql, duckdb_sql = rendered["redshift"][name], rendered["local"][name]
    expected = _rows(duck.execute(duckdb_sql).fetchall())
    assert expected, f"{name}: the fixture gives no rows"
    assert _postgres_rows(postgres, redshift_sql) == expected


def test_impossible_dates_are_null_on_every_engine(rendered, postgres, duck):
    parsed = dict(_postgres_rows(postgres, rendered["redshift"]["try_parse_timestamp"]))
    assert parsed["2024-02-29 12:00:00"] == "2024-02-29T12:00:00"
    assert parsed["2000-02-29 00:00:00"] == "2000-02-29T00:00:00"
    impossible_times = (
        "2025-02-29 12:00:00",
        "1900-02-29 00:00:00",
        "2026-02-30 00:00:00",
        "2026-04-31 00:00:00",
        "2026-01-01 24:00:00",
        "0000-01-01 00:00:00",
    )
    for impossible in impossible_times:
        assert parsed[impossible] is None, impossible


def test_windows_use_range_frames_on_duckdb_and_a_self_join_on_redshift(rendered):
    assert "range between" in rendered["local"]["trailing_time_averages"]
    assert "range between" not in rendered["redshift"]["trailing_time_averages"]
    assert "as earlier" in rendered["redshift"]["trailing_time_averages"]


def test_overflowing_to_timestamp_is_caught(rendered, postgres, duck):
    """Defect 5 reintroduced (the old Redshift macro: pattern only, then to_timestamp): Redshift
    would return 2026-05-01 for 2026-04-31, PostgreSQL raises; either way, not DuckDB's rows."""
    import psycopg

    pattern = (
        "'^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) "
        "([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$'"
    )
    old = (
        f"select t, case when t ~ {pattern} then to_timestamp(t, 'YYYY-MM-DD HH24:MI:SS')"
        "::timestamp end as parsed from fx_times"
    )
    expected = _rows(duck.execute(rendered["local"]["try_parse_timestamp"]).fetchall())
    try:
        rows = _postgres_rows(postgres, old)
    except psycopg.errors.DataError:  # PostgreSQL refuses the overflow that Redshift accepts
        return
    assert rows != expected


def test_traffic_slices_are_the_late_locations_hours(rendered, duck):
    """Location 1's late 10:45 rebuilds its hours 10, 11 and 13 (13:40 is within the 190-minute
    reach, 14:10 is not), location 3 its hour 12; location 2 and the rejected line nothing.
    Each is read with the 4 hours before it (the reach, rounded up to hours)."""
    rows = duck.execute(rendered["local"]["traffic_slices"]).fetchall()
    rebuild = sorted((loc, at.hour) for what, loc, at in rows if what == "rebuild")
    assert rebuild == [(1, 10), (1, 11), (1, 13), (3, 12)]
    read = sorted((loc, at.hour) for what, loc, at in rows if what == "read")
    assert read == sorted({(loc, hour - back) for loc, hour in rebuild for back in range(5)})
