"""`orchestration/publish.py` on a small warehouse of its own, without dbt: which partitions a
publish rewrites, the files' order and bytes, removals, and a null partition value."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from orchestration.publish import PublishedTable, publish_table

TABLE = PublishedTable("fact", ("day", "hour"), relation="fact")


def _write(db: Path, *statements: str) -> None:
    with duckdb.connect(str(db)) as con:
        for statement in statements:
            con.execute(statement)


def _publish(db: Path, curated: Path) -> tuple[int, int, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        report = publish_table(con, TABLE, curated)
    return report.partitions_written, report.partitions_unchanged, report.partitions_removed


def _files(curated: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(curated)): p.read_bytes()
        for p in sorted(curated.rglob("*.parquet"))
        if ".staging" not in p.parts
    }


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    # Rows inserted in no particular order, three days of two hours each.
    _write(
        path,
        "create table fact as select (i % 3)::int as day, (i % 2)::int as hour,"
        " (i * 7919 % 1000)::int as reading, 'run-1' as _dbt_invocation_id from range(6000) t(i)",
    )
    return path


def test_a_publish_writes_changed_partitions_sorted_and_identical_to_a_full_one(
    db: Path, tmp_path: Path
) -> None:
    curated = tmp_path / "lake" / "curated"
    assert _publish(db, curated) == (6, 0, 0)
    files = _files(curated)
    assert sorted(files) == [
        f"fact/day={d}/hour={h}/part-0.parquet" for d in range(3) for h in range(2)
    ]
    with duckdb.connect() as con:
        path = curated / "fact" / "day=1" / "hour=0" / "part-0.parquet"
        read = f"select * from read_parquet('{path}', hive_partitioning = false)"
        rows = con.execute(read).fetchall()
        columns = [c[0] for c in con.execute(f"describe {read}").fetchall()]
    assert columns == ["reading", "_dbt_invocation_id"]  # the partition columns are the path
    assert rows == sorted(rows) and len(rows) == 1000

    assert _publish(db, curated) == (0, 6, 0)  # nothing rebuilt, nothing written
    _write(db, "update fact set _dbt_invocation_id = 'run-2' where day = 1 and hour = 0")
    assert _publish(db, curated) == (1, 5, 0)
    # The one rewritten file equals what a publish of everything writes for it.
    fresh = tmp_path / "fresh" / "curated"
    _publish(db, fresh)
    assert _files(curated) == _files(fresh)
    assert not list((tmp_path / "lake" / ".staging").rglob("*.tmp"))


def test_a_partition_gone_from_the_table_is_removed(db: Path, tmp_path: Path) -> None:
    curated = tmp_path / "curated"
    _publish(db, curated)
    _write(db, "delete from fact where day = 2")
    assert _publish(db, curated) == (0, 4, 2)
    assert not list((curated / "fact" / "day=2").rglob("*.parquet"))


def test_a_null_partition_value_is_a_clear_error(db: Path, tmp_path: Path) -> None:
    _write(db, "insert into fact values (null, 0, 1, 'run-1')")
    with pytest.raises(ValueError, match="null partition column"):
        _publish(db, tmp_path / "curated")
