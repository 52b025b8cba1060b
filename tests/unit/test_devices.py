"""`eventlake devices add|list|retire`: the device registry in the data folder (issue 12)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration import cli, devices
from orchestration.devices import DETECTOR, ROOM


def _run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != cli.TRACEBACK_ENV},
    )


def _ok(data_dir: Path, *args: str) -> str:
    done = _run(data_dir, "devices", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _rows(data_dir: Path, kind: devices.Kind = ROOM) -> dict[str, dict[str, str]]:
    with open(data_dir / "registry" / f"{kind.table}.csv", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == kind.columns
        return {row[kind.id_column]: row for row in reader}


def test_add_list_retire_and_reactivate(tmp_path: Path) -> None:
    said = _ok(tmp_path, "add", "LAB1", "--name", "Lab, north wing", "--interval-seconds", "3600")
    assert "room LAB1 registered" in said and "eventlake build" in said
    _ok(tmp_path, "add", "LAB2", "--location", "building Z")
    rows = _rows(tmp_path)
    assert rows["LAB1"]["name"] == "Lab, north wing"  # the comma is quoted, not a new column
    assert rows["LAB1"]["expected_interval_seconds"] == "3600"
    assert rows["LAB2"]["expected_interval_seconds"] == "" and rows["LAB2"]["retired_at"] == ""

    said = _ok(tmp_path, "retire", "LAB1", "--at", "2026-03-01T12:00:00+02:00")
    assert "retired at 2026-03-01 10:00:00" in said and "device_retired" in said
    assert _rows(tmp_path)["LAB1"]["retired_at"] == "2026-03-01 10:00:00"  # stored in UTC

    listing = _ok(tmp_path, "list").splitlines()
    lab1 = next(line for line in listing if line.startswith("LAB1 "))
    assert "retired 2026-03-01 10:00:00" in lab1 and "3600" in lab1 and lab1.endswith("file")
    lab2 = next(line for line in listing if line.startswith("LAB2 "))
    assert "active" in lab2 and "inferred" in lab2
    # the seed's demo rooms are listed too
    seeded = devices.seed_ids(ROOM)
    assert any(line.startswith(f"{seeded[0]} ") and line.endswith("seed") for line in listing)
    assert listing[-1].startswith(f"{len(set(seeded)) + 2} rooms")

    said = _ok(tmp_path, "add", "LAB1")
    assert "re-activated (was retired at 2026-03-01 10:00:00)" in said
    row = _rows(tmp_path)["LAB1"]
    assert row["retired_at"] == "" and row["name"] == "Lab, north wing"  # details kept


def test_a_seed_room_is_retired_through_the_file(tmp_path: Path) -> None:
    seeded = devices.seed_ids(ROOM)[0]
    _ok(tmp_path, "retire", seeded, "--at", "2026-01-02")
    assert _rows(tmp_path)[seeded]["retired_at"] == "2026-01-02 00:00:00"
    line = next(x for x in _ok(tmp_path, "list").splitlines() if x.startswith(f"{seeded} "))
    assert "retired 2026-01-02 00:00:00" in line and line.endswith("seed+file")


def test_writes_are_atomic_and_leave_no_temporary_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "registry" / "rooms.csv"
    devices.add_device(path, ROOM, "R1", now="2026-01-01 00:00:00")
    before = path.read_bytes()

    def crash(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        devices.add_device(path, ROOM, "R2", now="2026-01-01 00:00:01")
    assert path.read_bytes() == before  # the old registry, whole
    assert [p.name for p in path.parent.iterdir() if p.is_file()] == ["rooms.csv"]
    assert not any((path.parent / ".staging").iterdir())


def test_a_hand_edited_file_with_columns_in_another_order_is_read(tmp_path: Path) -> None:
    path = tmp_path / "registry" / "rooms.csv"
    path.parent.mkdir()
    path.write_text("expected_interval_seconds,room_id\n300,HAND1\n,\n")
    assert set(devices.read_registry(path)) == {"HAND1"}  # the row without an id is skipped
    assert devices.read_registry(path)["HAND1"]["expected_interval_seconds"] == "300"
    devices.retire_device(path, ROOM, "HAND1", at="2026-01-01 00:00:00", now="2026-01-01 00:00:00")
    row = _rows(tmp_path)["HAND1"]  # rewritten with the full header
    assert (row["retired_at"], row["expected_interval_seconds"]) == ("2026-01-01 00:00:00", "300")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("add",), "the following arguments are required: device_id"),
        (("add", "R1", "--interval-seconds", "0"), "must be 1 to 999999999 seconds"),
        (("add", "R1", "--interval-seconds", "1.5"), "not a whole number of seconds"),
        (("add", "A,B"), "not a room id"),
        (("add", "R" * 17), "not a room id"),
        (("add", "R1", "--name", "two\nlines"), "must be one line"),
        (("retire", "R1", "--at", "yesterday"), "not an ISO date/time"),
        (("retire", "NOPE1"), "room NOPE1 is not registered"),
        (("frobnicate",), "invalid choice"),
        ((), "the following arguments are required"),
        # detectors
        (("add", "0", "--kind", "detector", "--segment", "E40-01-1"), "not a detector's"),
        (("add", "E40", "--kind", "detector"), "not a detector's location id"),
        (("add", "9001", "--kind", "detector"), "detector 9001 is new: give its road segment"),
        (("add", "9001", "--kind", "detector", "--segment", "X-1"), "unknown road segment"),
        (("add", "11", "--kind", "detector", "--lane", "0"), "must be 1 to 99 lanes"),
        (("add", "11", "--kind", "detector", "--latitude", "91"), "must be -90 to 90 degrees"),
        (("add", "11", "--kind", "detector", "--longitude", "east"), "not a number of degrees"),
        (("add", "11", "--kind", "detector", "--name", "x"), "--name is for --kind room"),
        (("add", "R1", "--segment", "E40-01-1"), "--segment is for --kind detector"),
        (("add", "R1", "--kind", "lamp"), "invalid choice: 'lamp'"),
        (("retire", "9001", "--kind", "detector"), "detector 9001 is not registered"),
        (("retire", "x", "--kind", "detector"), "not a detector's location id"),
    ],
)
def test_wrong_arguments_are_one_line_and_a_non_zero_exit(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    done = _run(tmp_path, "devices", *args)
    assert done.returncode != 0
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and expected in lines[0], done.stderr
    assert not (tmp_path / "registry").exists()  # nothing written


def test_retiring_twice_says_how_to_reactivate(tmp_path: Path) -> None:
    _ok(tmp_path, "add", "R1")
    _ok(tmp_path, "retire", "R1")
    done = _run(tmp_path, "devices", "retire", "R1")
    assert done.returncode == 1
    assert "already retired" in done.stderr and "devices add R1" in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_a_registry_file_without_room_id_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / "rooms.csv").write_text("id,name\nX,Y\n")
    done = _run(tmp_path, "devices", "list")
    assert done.returncode == 1 and "has no room_id column" in done.stderr


def test_detectors_add_list_retire_beside_the_rooms(tmp_path: Path) -> None:
    said = _ok(
        tmp_path,
        *("add", "9001", "--kind", "detector", "--segment", "E40-01-1", "--lane", "2"),
        *("--latitude", "50.874", "--longitude", "4.3847", "--interval-seconds", "60"),
    )
    assert "detector 9001 registered" in said and "unknown_location" in said
    row = _rows(tmp_path, DETECTOR)["9001"]
    assert (row["segment_id"], row["lane"], row["latitude"], row["longitude"]) == (
        "E40-01-1",
        "2",
        "50.87400",
        "4.38470",
    )
    assert row["road"] == "" and row["expected_interval_seconds"] == "60"  # road: the segment's
    assert not (tmp_path / "registry" / "rooms.csv").exists()  # the rooms are another file

    seeded = devices.seed_ids(DETECTOR)[0]
    said = _ok(tmp_path, "retire", seeded, "--kind", "detector", "--at", "2026-10-31T12:00:00Z")
    assert f"detector {seeded} retired at 2026-10-31 12:00:00" in said
    assert "device_retired" in said
    # 0090 is the location 90: ids are numbers, as the feed's unieke_id
    _ok(tmp_path, "add", "0090", "--kind", "detector", "--segment", "E40-01-2")
    assert list(_rows(tmp_path, DETECTOR)) == [seeded, "90", "9001"]

    listing = _ok(tmp_path, "list", "--kind", "detector").splitlines()
    assert listing[0].split() == [
        *("location_id", "segment_id", "road", "direction", "lane"),
        *("interval_s", "status", "registered_in"),
    ]
    new = next(line for line in listing if line.startswith("9001 "))
    assert "E40-01-1" in new and "60" in new and "active" in new and new.endswith("file")
    old = next(line for line in listing if line.startswith(f"{seeded} "))
    assert "retired 2026-10-31 12:00:00" in old and old.endswith("seed+file")
    # a seed row's values show through where the file gives none
    assert "E40" in old
    total = len(set(devices.seed_ids(DETECTOR)) | {"90", "9001"})
    assert listing[-1].startswith(f"{total} detectors")

    said = _ok(tmp_path, "add", seeded, "--kind", "detector")  # a seed detector needs no segment
    assert "re-activated (was retired at 2026-10-31 12:00:00)" in said
    done = _run(tmp_path, "devices", "retire", "9001", "--kind", "detector")
    assert done.returncode == 0
    done = _run(tmp_path, "devices", "retire", "9001", "--kind", "detector")
    assert done.returncode == 1
    assert "devices add 9001 --kind detector" in done.stderr


def test_a_detectors_file_without_location_id_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / "traffic_locations.csv").write_text("room_id,name\nX,Y\n")
    done = _run(tmp_path, "devices", "list", "--kind", "detector")
    assert done.returncode == 1 and "has no location_id column" in done.stderr


def test_a_spreadsheet_saved_registry_is_read_and_a_legacy_encoding_is_one_line(
    tmp_path: Path,
) -> None:
    """Files as spreadsheet programs save them: "CSV UTF-8" puts a byte-order mark before the
    header and ends lines with CRLF (read as is); "CSV (Windows)" writes Latin-1 (one line that
    says how to save it, exit 1, no traceback)."""
    (tmp_path / "registry").mkdir()
    registry = tmp_path / "registry" / "rooms.csv"
    registry.write_bytes(
        b"\xef\xbb\xbfroom_id,name,location,expected_interval_seconds\r\n"
        b"LAB-9,Lab 9,Geb\xc3\xa4ude B,300\r\n"
    )
    listed = _ok(tmp_path, "list")
    assert "LAB-9" in listed and "Gebäude B" in listed and "300" in listed
    registry.write_bytes(b"room_id,name,location\nLAB-8,Lab 8,Geb\xe4ude C\n")
    done = _run(tmp_path, "devices", "list")
    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert "is not UTF-8 text" in line and "save it as CSV UTF-8" in line
