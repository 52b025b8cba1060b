"""Historical CSV import into the raw zone: local folders, gzip, S3, idempotency, ragged rows."""

from __future__ import annotations

import gzip
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from ingestion.history.files import (
    FEED,
    STREAM,
    HistoryImportError,
    import_history_files,
    load_manifest,
)
from ingestion.history.transforms import ColumnMapping
from ingestion.raw_zone import RawZone
from ingestion.settings import LakePaths

HEADER = "timestamp,room_id,temp\n"
ARRIVAL = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def paths(tmp_path: Path) -> LakePaths:
    return LakePaths(tmp_path / "data")


def csv_text(rows: int, room: str = "A101", day: int = 1) -> str:
    lines = [
        f"2024-03-{day:02d} {h // 4:02d}:{h % 4 * 15:02d}:00,{room},{20 + h / 100}"
        for h in range(rows)
    ]
    return HEADER + "\n".join(lines) + "\n"


def landed_lines(paths: LakePaths) -> list[str]:
    lines: list[str] = []
    for obj in RawZone(paths.raw).objects(FEED):
        data = obj.read_bytes()
        if obj.name.endswith(".gz"):
            data = gzip.decompress(data)
        lines.extend(data.decode().splitlines())
    return lines


def test_local_folder_with_gzip_lands_every_row(tmp_path: Path, paths: LakePaths) -> None:
    src = tmp_path / "history"
    (src / "2024").mkdir(parents=True)
    (src / "a.csv").write_text(csv_text(10))
    (src / "2024" / "b.csv.gz").write_bytes(gzip.compress(csv_text(5, room="B201").encode()))
    (src / "notes.txt").write_text("not a csv")

    report = import_history_files(src, paths=paths, arrival=ARRIVAL, progress=False)

    assert (report.files_seen, report.files_imported, report.files_skipped) == (2, 2, 0)
    assert report.lines_landed == 15
    records = [json.loads(line) for line in landed_lines(paths)]
    assert len(records) == 15
    assert {"timestamp": "2024-03-01 00:00:00", "room_id": "A101", "temperature": 20.0} in records
    assert {"timestamp": "2024-03-01 01:00:00", "room_id": "B201", "temperature": 20.04} in records
    assert {r["room_id"] for r in records} == {"A101", "B201"}
    objects = RawZone(paths.raw).objects(FEED)
    assert all(
        o.relative_to(paths.raw).parts[:5] == (FEED, "2024", "06", "01", "12") for o in objects
    )
    assert all(o.name.startswith(f"{STREAM}-1-2024-06-01-12-00-00-") for o in objects)


def test_objects_are_bounded(tmp_path: Path, paths: LakePaths) -> None:
    src = tmp_path / "history"
    src.mkdir()
    (src / "a.csv").write_text(csv_text(25))
    (src / "b.csv").write_text(csv_text(7, room="A102"))

    report = import_history_files(src, paths=paths, max_lines_per_object=10, progress=False)

    sizes = [len(o.read_bytes().splitlines()) for o in report.objects]
    assert sizes == [10, 10, 5, 7]  # each file in its own objects: a crash replays one file
    assert report.lines_landed == 32 == len(landed_lines(paths))
    assert {uri.rsplit("/", 1)[1]: e["lines"] for uri, e in load_manifest(paths).items()} == {
        "a.csv": 25,
        "b.csv": 7,
    }


def test_reimport_is_idempotent_and_changed_files_reimport(
    tmp_path: Path, paths: LakePaths
) -> None:
    src = tmp_path / "history"
    src.mkdir()
    (src / "a.csv").write_text(csv_text(4))
    (src / "b.csv").write_text(csv_text(3, room="A102"))
    first = import_history_files(src, paths=paths, progress=False)
    assert (first.files_imported, first.lines_landed) == (2, 7)

    second = import_history_files(src, paths=paths, progress=False)
    assert (second.files_seen, second.files_imported, second.files_skipped) == (2, 0, 2)
    assert second.lines_landed == 0
    assert len(landed_lines(paths)) == 7

    # Touched (new mtime) but identical content: still skipped.
    stat = (src / "a.csv").stat()
    os.utime(src / "a.csv", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000_000))
    touched = import_history_files(src, paths=paths, progress=False)
    assert (touched.files_imported, touched.files_skipped) == (0, 2)

    # Changed content: imported again.
    (src / "b.csv").write_text(csv_text(5, room="A102"))
    third = import_history_files(src, paths=paths, progress=False)
    assert (third.files_imported, third.files_skipped, third.lines_landed) == (1, 1, 5)
    assert len(landed_lines(paths)) == 12


def test_ragged_and_bad_rows_are_kept(tmp_path: Path, paths: LakePaths) -> None:
    src = tmp_path / "bad.csv"
    src.write_text(
        HEADER
        + "2024-03-01 00:00:00,A101,21.5\n"
        + "2024-03-01 00:15:00,A101\n"  # too few columns
        + "2024-03-01 00:30:00,A101,21.7,extra\n"  # too many columns
        + "\n"  # blank line: not a row
        + "not a time,Z999,warm\n"  # bad values: passed through for SQL to quarantine
        + '2024-03-01 00:45:00,"A1\n01",\n'  # quoted line break, empty temperature
    )
    report = import_history_files(src, paths=paths, progress=False)

    assert report.lines_landed == 5
    assert report.ragged_rows == 2
    assert report.blank_lines == 1
    lines = landed_lines(paths)
    assert len(lines) == 5
    assert json.loads(lines[0]) == {
        "timestamp": "2024-03-01 00:00:00",
        "room_id": "A101",
        "temperature": 21.5,
    }
    assert lines[1] == "2024-03-01 00:15:00,A101"
    assert lines[2] == "2024-03-01 00:30:00,A101,21.7,extra"
    for ragged in lines[1:3]:
        with pytest.raises(json.JSONDecodeError):
            json.loads(ragged)
    assert json.loads(lines[3]) == {
        "timestamp": "not a time",
        "room_id": "Z999",
        "temperature": "warm",
    }
    assert json.loads(lines[4]) == {
        "timestamp": "2024-03-01 00:45:00",
        "room_id": "A1\n01",
        "temperature": None,
    }


def test_header_without_mapped_columns_is_a_clear_error(tmp_path: Path, paths: LakePaths) -> None:
    src = tmp_path / "other.csv"
    src.write_text("ts,room,celsius\n2024-03-01 00:00:00,A101,20\n")
    with pytest.raises(HistoryImportError, match=r"lacks column\(s\).*ColumnMapping"):
        import_history_files(src, paths=paths, progress=False)
    mapping = ColumnMapping(timestamp="ts", room_id="room", temperature="celsius")
    report = import_history_files(src, paths=paths, mapping=mapping, progress=False)
    assert report.lines_landed == 1
    assert json.loads(landed_lines(paths)[0])["temperature"] == 20


def test_missing_source_is_a_clear_error(tmp_path: Path, paths: LakePaths) -> None:
    with pytest.raises(HistoryImportError, match="does not exist"):
        import_history_files(tmp_path / "nope", paths=paths, progress=False)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)


def test_s3_prefix_import_paginates_and_is_idempotent(aws_env: None, paths: LakePaths) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(
            Bucket="history", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        for i in range(5):
            s3.put_object(
                Bucket="history", Key=f"temps/2024/{i}.csv", Body=csv_text(3, day=i + 1).encode()
            )
        s3.put_object(
            Bucket="history",
            Key="temps/old.csv.gz",
            Body=gzip.compress(csv_text(4, room="C301").encode()),
        )
        s3.put_object(Bucket="history", Key="temps/readme.md", Body=b"# notes")
        s3.put_object(Bucket="history", Key="other/x.csv", Body=csv_text(9).encode())

        report = import_history_files(
            "s3://history/temps/", paths=paths, s3_client=s3, s3_page_size=2, progress=False
        )
        assert (report.files_seen, report.files_imported, report.lines_landed) == (6, 6, 19)
        assert sum(1 for line in landed_lines(paths) if '"C301"' in line) == 4
        assert "s3://history/temps/old.csv.gz" in load_manifest(paths)

        again = import_history_files(
            "s3://history/temps/", paths=paths, s3_client=s3, progress=False
        )
        assert (again.files_skipped, again.files_imported, again.lines_landed) == (6, 0, 0)

        s3.put_object(Bucket="history", Key="temps/2024/0.csv", Body=csv_text(2).encode())
        changed = import_history_files(
            "s3://history/temps", paths=paths, s3_client=s3, progress=False
        )
        assert (changed.files_imported, changed.lines_landed) == (1, 2)
        assert len(landed_lines(paths)) == 21
