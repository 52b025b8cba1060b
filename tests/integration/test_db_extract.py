"""Incremental database extraction into the raw zone, on PostgreSQL and the SQLite demo source."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from ingestion.history import database
from ingestion.history.database import (
    FEED,
    PARQUET_FEED,
    DatabaseExtractError,
    create_demo_database,
    extract_database,
    load_watermark,
    state_path,
)
from ingestion.history.transforms import DB_MAPPING, to_payload
from ingestion.raw_zone import RawZone
from ingestion.settings import LakePaths

START = datetime(2024, 3, 4, 0, 0)


@pytest.fixture
def paths(tmp_path: Path) -> LakePaths:
    return LakePaths(tmp_path / "data")


def landed(paths: LakePaths, feed: str = FEED) -> list[dict]:
    return [
        json.loads(line)
        for obj in RawZone(paths.raw).objects(feed)
        for line in obj.read_text().splitlines()
    ]


def source_payloads(url: str, table: str) -> list[dict]:
    engine = sa.create_engine(url)
    try:
        source = sa.Table(table, sa.MetaData(), autoload_with=engine)  # typed, like the extractor
        with engine.connect() as conn:
            rows = conn.execute(sa.select(source).order_by(source.c.id)).mappings().all()
    finally:
        engine.dispose()
    return [to_payload(row, DB_MAPPING) for row in rows]


def key(payload: dict) -> str:
    return json.dumps(payload, sort_keys=True)


def make_table(url: str, table: str, hours: int = 10) -> int:
    # 2 rooms x 4 readings an hour; every hour's 8 rows share one updated_at (ties).
    return create_demo_database(
        url,
        rooms=["A101", "A102"],
        start=START,
        end=START + timedelta(hours=hours),
        cadence=timedelta(minutes=15),
        seed=3,
        table=table,
    )


def insert_rows(url: str, table: str, rows: list[dict]) -> None:
    engine = sa.create_engine(url)
    try:
        target = sa.Table(table, sa.MetaData(), autoload_with=engine)
        with engine.begin() as conn:
            conn.execute(target.insert(), rows)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_incremental_extraction_from_high_water_mark(postgres_url: str, paths: LakePaths) -> None:
    table = "temps_incremental"
    total = make_table(postgres_url, table)
    assert total == 80

    first = extract_database(postgres_url, paths=paths, table=table, chunk_size=25)
    assert (first.rows_extracted, first.chunks) == (80, 4)
    assert Counter(map(key, landed(paths))) == Counter(
        map(key, source_payloads(postgres_url, table))
    )
    mark = load_watermark(state_path(paths, postgres_url, table))
    assert mark is not None
    mark_ts, mark_id = mark
    assert mark_id == 80

    # Nothing new: nothing lands.
    idle = extract_database(postgres_url, paths=paths, table=table, chunk_size=25)
    assert (idle.rows_extracted, idle.chunks, idle.objects) == (0, 0, [])
    assert idle.high_water_mark == first.high_water_mark  # the saved mark, not None

    # New rows, two of them with exactly the mark's updated_at (ids above the mark's id).
    new = [
        {
            "id": 81,
            "room_id": "B201",
            "temp": 18.5,
            "measured_at": START + timedelta(days=1),
            "updated_at": mark_ts,
        },
        {
            "id": 82,
            "room_id": "B202",
            "temp": None,
            "measured_at": START + timedelta(days=1),
            "updated_at": mark_ts,
        },
        {
            "id": 83,
            "room_id": "B203",
            "temp": 19.25,
            "measured_at": START + timedelta(days=2),
            "updated_at": mark_ts + timedelta(seconds=1),
        },
    ]
    insert_rows(postgres_url, table, new)
    second = extract_database(postgres_url, paths=paths, table=table, chunk_size=2)
    assert (second.rows_extracted, second.chunks) == (3, 2)
    everything = landed(paths)
    assert len(everything) == 83
    assert Counter(map(key, everything)) == Counter(map(key, source_payloads(postgres_url, table)))
    assert {"timestamp": "2024-03-05 00:00:00", "room_id": "B202", "temperature": None} in (
        everything
    )
    assert load_watermark(state_path(paths, postgres_url, table)) == (
        mark_ts + timedelta(seconds=1),
        83,
    )


@pytest.mark.postgres
def test_chunks_bound_object_sizes(postgres_url: str, paths: LakePaths) -> None:
    table = "temps_chunks"
    make_table(postgres_url, table, hours=6)  # 48 rows
    report = extract_database(postgres_url, paths=paths, table=table, chunk_size=10)
    sizes = [len(obj.read_text().splitlines()) for obj in report.objects]
    assert sizes == [10, 10, 10, 10, 8]
    assert len(RawZone(paths.raw).objects(FEED)) == 5


@pytest.mark.postgres
def test_crash_before_saving_mark_reextracts_one_chunk_and_lands_it_once(
    postgres_url: str, paths: LakePaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = "temps_crash"
    make_table(postgres_url, table, hours=5)  # 40 rows
    real_save = database._save_watermark
    calls = {"n": 0}

    def crash_on_second(path: Path, state: dict) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated crash after the object landed")
        real_save(path, state)

    monkeypatch.setattr(database, "_save_watermark", crash_on_second)
    with pytest.raises(RuntimeError, match="simulated crash"):
        extract_database(postgres_url, paths=paths, table=table, chunk_size=8)
    assert len(landed(paths)) == 16  # chunk 1 (mark saved) + chunk 2 (landed, mark not saved)
    assert load_watermark(state_path(paths, postgres_url, table))[1] == 8

    monkeypatch.setattr(database, "_save_watermark", real_save)
    rerun = extract_database(postgres_url, paths=paths, table=table, chunk_size=8)
    assert rerun.rows_extracted == 32  # resumes at chunk 2: read again, none lost

    # Chunk 2's object is named by its content, so the re-read finds it and lands nothing twice.
    everything = Counter(map(key, landed(paths)))
    source = source_payloads(postgres_url, table)
    assert sum(everything.values()) == 40
    assert set(everything) == set(map(key, source))
    assert len(RawZone(paths.raw).objects(FEED)) == 5  # 40 rows in chunks of 8


@pytest.mark.postgres
def test_bad_table_and_column_are_clear_errors(postgres_url: str, paths: LakePaths) -> None:
    shown = sa.make_url(postgres_url).render_as_string(hide_password=True)
    with pytest.raises(DatabaseExtractError) as info:
        extract_database(postgres_url, paths=paths, table="no_such_table")
    assert str(info.value).startswith(f"table 'no_such_table' not found in {shown}; pass --table")

    make_table(postgres_url, "temps_columns", hours=1)
    with pytest.raises(DatabaseExtractError, match=r"\['changed'\] not found in table"):
        extract_database(
            postgres_url, paths=paths, table="temps_columns", watermark_column="changed"
        )


def test_bad_url_and_password_is_never_shown(paths: LakePaths) -> None:
    with pytest.raises(DatabaseExtractError, match="could not parse database URL"):
        extract_database("not a url", paths=paths)
    with pytest.raises(DatabaseExtractError) as info:
        extract_database("postgresql+psycopg://u:s3cret@127.0.0.1:1/db", paths=paths)
    assert "could not connect to" in str(info.value)
    assert "s3cret" not in str(info.value)


def test_sqlite_demo_database_end_to_end(tmp_path: Path, paths: LakePaths) -> None:
    url = f"sqlite:///{tmp_path / 'src' / 'history.sqlite'}"
    start = datetime(2024, 3, 4)
    rows = create_demo_database(
        url, start=start, end=start + timedelta(days=1), cadence=timedelta(hours=1), seed=7
    )
    assert rows == 20 * 24  # every room of seeds/rooms.csv, hourly for a day
    before = source_payloads(url, "temperatures")
    again = create_demo_database(
        url, start=start, end=start + timedelta(days=1), cadence=timedelta(hours=1), seed=7
    )
    assert again == rows
    source = source_payloads(url, "temperatures")
    assert source == before  # recreated, not appended, identically

    report = extract_database(url, paths=paths, chunk_size=100)
    assert (report.rows_extracted, report.chunks) == (480, 5)
    payloads = landed(paths)
    assert Counter(map(key, payloads)) == Counter(map(key, source))
    assert any(p["temperature"] is None for p in payloads)
    assert any(p["room_id"] == "Z999" for p in payloads)
    assert all(isinstance(p["temperature"], float) or p["temperature"] is None for p in payloads)
    assert min(p["timestamp"] for p in payloads) == "2024-03-04 00:00:00"
    assert extract_database(url, paths=paths).rows_extracted == 0


def test_an_extraction_without_new_rows_reports_the_saved_high_water_mark(
    tmp_path: Path, paths: LakePaths
) -> None:
    url = f"sqlite:///{tmp_path / 'history.sqlite'}"
    create_demo_database(url, rooms=["A101"], start=START, end=START)  # an empty table
    assert extract_database(url, paths=paths).high_water_mark is None  # nothing saved yet

    create_demo_database(url, rooms=["A101"], start=START, end=START + timedelta(hours=2))
    first = extract_database(url, paths=paths, chunk_size=5)
    saved = {
        "watermark": {"type": "datetime", "value": "2024-03-04T02:05:00"},
        "key": {"type": "int", "value": 8},
    }
    assert (first.rows_extracted, first.high_water_mark) == (8, saved)
    idle = extract_database(url, paths=paths)
    assert (idle.rows_extracted, idle.chunks, idle.objects) == (0, 0, [])
    assert idle.high_water_mark == saved
    state = json.loads(state_path(paths, url, "temperatures").read_text())
    assert state["high_water_mark"] == saved  # the file the report was read from


def test_sqlite_demo_is_deterministic_by_seed(tmp_path: Path) -> None:
    def make(name: str, seed: int) -> list[dict]:
        url = f"sqlite:///{tmp_path / name}"
        create_demo_database(
            url, rooms=["A101"], start=START, end=START + timedelta(hours=3), seed=seed
        )
        return source_payloads(url, "temperatures")

    assert make("a.sqlite", 1) == make("b.sqlite", 1)
    assert make("c.sqlite", 2) != make("a.sqlite", 1)


def test_parquet_output(tmp_path: Path, paths: LakePaths) -> None:
    url = f"sqlite:///{tmp_path / 'history.sqlite'}"
    create_demo_database(
        url, rooms=["A101", "Z1"], start=START, end=START + timedelta(hours=5), seed=1
    )
    report = extract_database(url, paths=paths, chunk_size=16, output_format="parquet")
    assert report.chunks == 3
    assert all(p.name.endswith(".parquet") and PARQUET_FEED in p.parts for p in report.objects)
    tables = [pq.read_table(p) for p in report.objects]
    assert [t.num_rows for t in tables] == [16, 16, 8]
    first = tables[0].to_pylist()[0]
    assert first["timestamp"] == "2024-03-04 00:00:00"
    assert isinstance(first["temperature"], str)
    float(first["temperature"])
    assert any(row["temperature"] is None for t in tables for row in t.to_pylist())
