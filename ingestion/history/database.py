"""Incremental extraction of a source database table into the raw zone's ``sensor_db_extract`` feed.

The seed reads a SQL Server on EC2 through a Glue JDBC connection (see
``ingestion/glue/extract_jdbc_to_raw.py``); locally any SQLAlchemy URL works, the embedded default
being a SQLite file made by :func:`create_demo_database`.

Rows are read in order of ``(watermark column, key column)`` from a persisted high-water mark
(``WHERE wm > :wm OR (wm = :wm AND key > :key)``, the portable spelling of a row-value
comparison), streamed with a server-side cursor in chunks of ``chunk_size`` rows. Each chunk lands
as one object (NDJSON through the shared :func:`to_payload`, or Parquet), and only then is the
mark saved (atomically) to the chunk's last row. A crash re-extracts at most the one chunk that
landed without its mark; its object is named by its content, so the re-run finds it and does not
land it again (rows changed meanwhile land as a new object). No row is ever skipped.

Known limits: rows whose watermark column is NULL are never selected (they are counted in the
report so they can be fixed at the source); rows committed late with a watermark value *below*
the saved mark (long transactions, clock skew) are missed, as with any timestamp-based increment.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, NoSuchTableError, OperationalError

from ingestion.crash_points import crash_point
from ingestion.history.transforms import DB_MAPPING, ColumnMapping, to_payload
from ingestion.raw_zone import RawZone, atomic_write_bytes, batch_object_id, object_key, utcnow
from ingestion.settings import PROJECT_ROOT, LakePaths, lake_paths
from ingestion.state import load_json_state, save_json_state

log = logging.getLogger(__name__)

FEED = "sensor_db_extract"
PARQUET_FEED = "sensor_db_extract_parquet"
STREAM = "eventlake-db-extract"
DEFAULT_TABLE = "temperatures"
DEFAULT_CHUNK_SIZE = 10_000
STATE_DIR = "db_extract"

OutputFormat = Literal["ndjson", "parquet"]


class DatabaseExtractError(RuntimeError):
    """The source cannot be read as configured; the message says what to change."""


@dataclass
class ExtractReport:
    source: str
    table: str
    rows_extracted: int = 0
    chunks: int = 0
    objects: list[Path] = field(default_factory=list)
    null_watermark_rows: int = 0
    high_water_mark: dict[str, Any] | None = None

    def describe_mark(self) -> str:
        """The persisted mark for people: '<watermark> (key <id>)', or 'none yet'."""
        if not self.high_water_mark:
            return "none yet"
        mark, key = (self.high_water_mark.get(k) or {} for k in ("watermark", "key"))
        return f"{mark.get('value')} (key {key.get('value')})"


# --------------------------------------------------------------------------- URL and engine


def _parse_url(url: str | URL) -> URL:
    try:
        return sa.make_url(url)
    except ArgumentError as exc:
        raise DatabaseExtractError(
            f"could not parse database URL {_mask_raw(str(url))!r}: expected a SQLAlchemy URL "
            "such as sqlite:///data/history.sqlite or postgresql+psycopg://user@host/db"
        ) from exc


def _mask_raw(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def safe_url(url: str | URL) -> str:
    """The URL as text with its password hidden, for messages and state."""
    return _parse_url(url).render_as_string(hide_password=True)


def _engine(url: str | URL) -> Engine:
    parsed = _parse_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        return sa.create_engine(parsed)
    except (NoSuchModuleError, ImportError) as exc:
        raise DatabaseExtractError(
            f"no SQLAlchemy driver for {safe_url(parsed)} ({exc}); install the driver or fix the "
            "URL's dialect+driver part"
        ) from exc


def default_demo_url(paths: LakePaths | None = None) -> str:
    """The embedded default source: a SQLite file beside the lake."""
    paths = paths or lake_paths()
    return f"sqlite:///{paths.data_dir / 'history_source.sqlite'}"


# --------------------------------------------------------------------------- high-water mark


def _encode_value(value: Any) -> dict[str, Any]:
    if isinstance(value, datetime):
        return {"type": "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {"type": "date", "value": value.isoformat()}
    if isinstance(value, Decimal):
        return {"type": "decimal", "value": str(value)}
    if isinstance(value, bool | int | float | str):
        return {"type": type(value).__name__, "value": value}
    raise DatabaseExtractError(
        f"cannot persist a high-water mark of type {type(value).__name__}; "
        "use a timestamp, date, number or text watermark column"
    )


def _decode_value(encoded: Mapping[str, Any]) -> Any:
    kind, value = encoded["type"], encoded["value"]
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "decimal":
        return Decimal(value)
    return value


def state_path(
    paths: LakePaths, url: str | URL, table: str, schema: str | None = None, feed: str = FEED
) -> Path:
    """Where the mark of (source, table, feed) is kept: one JSON file per extraction.

    A database file inside the data folder (the demo's SQLite) is named relative to the folder,
    so a copied or moved data folder keeps its marks instead of extracting everything again.
    """
    source = safe_url(url)
    for folder in {str(paths.data_dir.resolve()), str(paths.data_dir)}:
        source = source.replace(folder, "<data-dir>")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{schema + '.' if schema else ''}{table}")

    def named(identity_source: str) -> Path:
        identity = f"{identity_source}|{schema or ''}|{table}|{feed}"
        digest = hashlib.sha256(identity.encode()).hexdigest()[:16]
        return paths.state / STATE_DIR / f"{slug}-{feed}-{digest}.json"

    legacy = named(safe_url(url))  # marks saved before the data-folder-relative name
    current = named(source)
    return legacy if legacy.exists() and not current.exists() else current


def _saved_mark(path: Path) -> dict[str, Any] | None:
    """The mark as saved (encoded ``watermark`` and ``key``), or None before the first run."""
    state = load_json_state(path, None)
    return None if state is None else state["high_water_mark"]


def _decode_mark(mark: Mapping[str, Any]) -> tuple[Any, Any]:
    return _decode_value(mark["watermark"]), _decode_value(mark["key"])


def load_watermark(path: Path) -> tuple[Any, Any] | None:
    """The saved ``(watermark value, key value)``, or None before the first extraction."""
    mark = _saved_mark(path)
    return None if mark is None else _decode_mark(mark)


def _save_watermark(path: Path, state: dict[str, Any]) -> None:
    save_json_state(path, state)


# --------------------------------------------------------------------------- landing


def _chunk_object_id(state_file: Path, records: list[dict[str, Any]]) -> str:
    """An id for a chunk from its extraction and its content: a chunk landed just before a crash
    (its mark not saved yet) is extracted again with the same rows, found, and not landed twice;
    rows that changed meanwhile make a new id and land."""
    content = json.dumps(records, sort_keys=True, default=str).encode()
    return batch_object_id(f"{state_file.name}|{hashlib.sha256(content).hexdigest()}", 0)


def _land_parquet(
    zone: RawZone,
    feed: str,
    stream: str,
    records: list[dict[str, Any]],
    arrival: datetime,
    object_id: str,
) -> Path:
    """Parquet with every payload field as text, exactly what SQL reads from a JSON line."""
    if (done := zone.landed(feed, object_id)) is not None:
        return done
    import pyarrow as pa
    import pyarrow.parquet as pq

    def text(value: Any) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value)

    columns = {
        name: pa.array([text(r.get(name)) for r in records], type=pa.string())
        for name in ("timestamp", "room_id", "temperature")
    }
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink, compression="snappy")
    path = zone.root / f"{object_key(feed, stream, arrival, object_id=object_id)}.parquet"
    atomic_write_bytes(path, sink.getvalue(), staging_root=zone.staging_root)
    crash_point("object-landed")
    return path


# --------------------------------------------------------------------------- extraction


def _reflect(engine: Engine, table: str, schema: str | None, shown: str) -> sa.Table:
    try:
        return sa.Table(table, sa.MetaData(), autoload_with=engine, schema=schema)
    except NoSuchTableError as exc:
        raise DatabaseExtractError(
            f"table {table!r} not found in {shown}; pass --table (and --schema if it lives "
            "outside the default schema)"
        ) from exc
    except OperationalError as exc:
        raise DatabaseExtractError(
            f"could not connect to {shown}: {exc.orig}; check host, port, credentials and that "
            "the database exists"
        ) from exc


def extract_database(
    url: str | URL,
    *,
    paths: LakePaths | None = None,
    table: str = DEFAULT_TABLE,
    schema: str | None = None,
    mapping: ColumnMapping = DB_MAPPING,
    watermark_column: str = "updated_at",
    key_column: str = "id",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    output_format: OutputFormat = "ndjson",
    feed: str | None = None,
    stream: str = STREAM,
    arrival: datetime | None = None,
    max_chunks: int | None = None,
) -> ExtractReport:
    """Land every row changed since the saved high-water mark; returns what was done.

    ``max_chunks`` stops after that many chunks (the mark is saved, the next run resumes).
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    if output_format not in ("ndjson", "parquet"):
        raise ValueError(f"output_format must be 'ndjson' or 'parquet', not {output_format!r}")
    paths = paths or lake_paths()
    feed = feed or (FEED if output_format == "ndjson" else PARQUET_FEED)
    shown = safe_url(url)
    engine = _engine(url)
    try:
        source = _reflect(engine, table, schema, shown)
        wanted = dict.fromkeys([*mapping.source_columns, watermark_column, key_column])
        missing = [name for name in wanted if name not in source.c]
        if missing:
            raise DatabaseExtractError(
                f"column(s) {missing} not found in table {table!r} of {shown} "
                f"(it has {list(source.c.keys())}); pass --watermark-column/--key-column or a "
                "ColumnMapping naming the timestamp, room and temperature columns"
            )
        wm, key = source.c[watermark_column], source.c[key_column]
        state_file = state_path(paths, url, table, schema, feed)
        saved = _saved_mark(state_file)
        # Until a chunk moves it, the report shows the mark the extraction started from.
        report = ExtractReport(source=shown, table=table, high_water_mark=saved)

        query = sa.select(*(source.c[name] for name in wanted)).order_by(wm, key)
        if saved is not None:
            mark_wm, mark_key = _decode_mark(saved)
            query = query.where(sa.or_(wm > mark_wm, sa.and_(wm == mark_wm, key > mark_key)))
        zone = RawZone(paths.raw)

        with engine.connect() as conn:
            report.null_watermark_rows = conn.execute(
                sa.select(sa.func.count()).select_from(source).where(wm.is_(None))
            ).scalar_one()
            if report.null_watermark_rows:
                log.warning(
                    "%s rows of %s have NULL %s and are not extracted",
                    report.null_watermark_rows,
                    table,
                    watermark_column,
                )
            result = conn.execution_options(stream_results=True, yield_per=chunk_size).execute(
                query
            )
            for rows in result.partitions(chunk_size):
                records = [to_payload(row._mapping, mapping) for row in rows]
                when = arrival or utcnow()
                object_id = _chunk_object_id(state_file, records)
                if output_format == "parquet":
                    landed = _land_parquet(zone, feed, stream, records, when, object_id)
                else:
                    landed = zone.write_object(feed, stream, records, when, object_id=object_id)
                last = rows[-1]._mapping
                state = {
                    "version": 1,
                    "source": shown,
                    "table": table,
                    "schema": schema,
                    "feed": feed,
                    "watermark_column": watermark_column,
                    "key_column": key_column,
                    "high_water_mark": {
                        "watermark": _encode_value(last[watermark_column]),
                        "key": _encode_value(last[key_column]),
                    },
                    "saved_at": utcnow().isoformat(),
                }
                # The object has landed: only now may the mark move past its rows.
                _save_watermark(state_file, state)
                report.objects.append(landed)
                report.rows_extracted += len(rows)
                report.chunks += 1
                report.high_water_mark = state["high_water_mark"]
                if max_chunks is not None and report.chunks >= max_chunks:
                    break
        return report
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- demo source


def _demo_rooms() -> list[str]:
    import csv

    with open(PROJECT_ROOT / "seeds" / "rooms.csv", newline="") as handle:
        return [row["room_id"] for row in csv.DictReader(handle)]


def demo_table(metadata: sa.MetaData, table: str = DEFAULT_TABLE) -> sa.Table:
    return sa.Table(
        table,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("room_id", sa.String(16)),
        sa.Column("temp", sa.Float),
        sa.Column("measured_at", sa.DateTime),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Index(f"ix_{table}_updated_at_id", "updated_at", "id"),
    )


def demo_rows(
    rooms: Sequence[str],
    start: datetime,
    end: datetime,
    cadence: timedelta,
    seed: int,
    physics_seed: int | None = None,
) -> Iterable[dict[str, Any]]:
    """The sensor simulator's readings (``ingestion.sensors``: per-room base, daily cycle, noise).

    ``physics_seed`` (default ``seed``) picks the rooms' physics: the live simulation's seed makes
    the table continue the live feed's levels. ``updated_at`` is the hourly batch load that wrote
    the row (many rows share one value, which exercises the key tie-break). Rows 7 and 13 of every
    500 are bad: NULL ``temp``, unknown room.
    """
    from ingestion.sensors import SimulationConfig, simulate_temperatures

    aware = start if start.tzinfo else start.replace(tzinfo=UTC)
    until = end if end.tzinfo else end.replace(tzinfo=UTC)
    if until <= aware:
        return
    config = SimulationConfig(
        rooms=list(rooms),
        start=aware,
        end=until,
        cadence=cadence,
        seed=seed,
        physics_seed=physics_seed,
    )
    step_seconds, temps = simulate_temperatures(config)
    row_id = 0
    for step, epoch in enumerate(step_seconds.tolist()):
        moment = datetime.fromtimestamp(epoch, UTC).replace(tzinfo=start.tzinfo)
        loaded = moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1, minutes=5)
        for r, room in enumerate(rooms):
            row_id += 1
            temp: float | None = round(float(temps[r, step]), 2)
            room_id = room
            if row_id % 500 == 7:  # a sensor that reported nothing
                temp = None
            elif row_id % 500 == 13:  # a room missing from seeds/rooms.csv
                room_id = "Z999"
            yield {
                "id": row_id,
                "room_id": room_id,
                "temp": temp,
                "measured_at": moment,
                "updated_at": loaded,
            }


def create_demo_database(
    url: str | URL | None = None,
    rooms: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    cadence: timedelta = timedelta(minutes=15),
    seed: int = 42,
    *,
    table: str = DEFAULT_TABLE,
    physics_seed: int | None = None,
) -> int:
    """(Re)create ``table`` at ``url`` filled with demo readings; returns the number of rows.

    Defaults: the SQLite file of :func:`default_demo_url`, every room of ``seeds/rooms.csv``, and
    the 14 days up to the current hour (UTC, stored naive), so the history overlaps the live feed
    and the downstream de-duplication has work to do. Deterministic for given arguments;
    ``physics_seed`` as :func:`demo_rows` takes it.
    """
    url = url or default_demo_url()
    rooms = list(rooms) if rooms is not None else _demo_rooms()
    if end is None:
        end = utcnow().replace(minute=0, second=0, microsecond=0)
    if start is None:
        start = end - timedelta(days=14)
    # Stored as naive UTC: DATETIME columns of most engines carry no zone.
    start = start.astimezone(UTC).replace(tzinfo=None) if start.tzinfo else start
    end = end.astimezone(UTC).replace(tzinfo=None) if end.tzinfo else end
    if cadence <= timedelta(0):
        raise ValueError("cadence must be positive")
    engine = _engine(url)
    try:
        metadata = sa.MetaData()
        target = demo_table(metadata, table)
        try:
            metadata.drop_all(engine)
            metadata.create_all(engine)
        except OperationalError as exc:
            raise DatabaseExtractError(f"could not connect to {safe_url(url)}: {exc.orig}") from exc
        count = 0
        batch: list[dict[str, Any]] = []
        with engine.begin() as conn:
            for row in demo_rows(rooms, start, end, cadence, seed, physics_seed):
                batch.append(row)
                if len(batch) >= 5_000:
                    conn.execute(target.insert(), batch)
                    count += len(batch)
                    batch.clear()
            if batch:
                conn.execute(target.insert(), batch)
                count += len(batch)
        return count
    finally:
        engine.dispose()
