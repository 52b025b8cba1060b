"""`eventlake land`: every format, folders, S3, re-landing, crashes and every error case."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from lakehelpers import run_eventlake
from moto import mock_aws

from ingestion import land
from ingestion.land import LandError, land_files, parse_mapping
from ingestion.raw_zone import RawZone
from ingestion.seismic.landing import FEED as SEISMIC_FEED
from ingestion.sensors.landing import LIVE_FEED
from ingestion.settings import LakePaths
from ingestion.traffic.landing import TRAFFIC_FEED

READINGS = [
    {"timestamp": f"2026-03-01 {h:02d}:00:00", "room_id": "A101", "temperature": 20 + h / 10}
    for h in range(6)
]


@pytest.fixture
def paths(tmp_path: Path) -> LakePaths:
    return LakePaths(tmp_path / "data")


def ndjson(records: list[dict[str, object]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def landed(paths: LakePaths, feed: str = LIVE_FEED) -> list[bytes]:
    """Every landed line of ``feed``, in object order."""
    # split on \n only, as the SQL reader does: a \r before it stays part of the line
    return [
        line
        for obj in RawZone(paths.raw).objects(feed)
        for line in obj.read_bytes().removesuffix(b"\n").split(b"\n")
    ]


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_eventlake(data_dir, "land", *args)


def one_error_line(done: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert done.returncode != 0, done.stdout
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("eventlake") and "Traceback" not in done.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def test_ndjson_lands_each_line_byte_for_byte_under_firehose_names(
    tmp_path: Path, paths: LakePaths
) -> None:
    source = tmp_path / "readings.ndjson"
    source.write_bytes(ndjson(READINGS))
    report = land_files("temperature", [source], paths=paths)
    assert report.lines == 6 and len(report.objects) == 1
    assert landed(paths) == source.read_bytes().splitlines()
    (obj,) = report.objects
    # <feed>/YYYY/MM/DD/HH/<stream>-<version>-<YYYY-MM-DD-HH-MM-SS>-<uuid>, like Firehose
    relative = obj.relative_to(paths.raw).parts
    assert relative[0] == LIVE_FEED and len(relative) == 6
    assert obj.name.startswith("eventlake-sensor-readings-1-")


def test_json_array_lands_one_element_per_line(tmp_path: Path, paths: LakePaths) -> None:
    source = tmp_path / "readings.json"
    source.write_text("\n  " + json.dumps(READINGS, indent=2))
    land_files("temperature", [source], paths=paths)
    assert [json.loads(line) for line in landed(paths)] == READINGS


def test_gzip_of_ndjson_and_of_an_array(tmp_path: Path, paths: LakePaths) -> None:
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(ndjson(READINGS[:3])))
    (tmp_path / "b.json.gz").write_bytes(gzip.compress(json.dumps(READINGS[3:]).encode()))
    report = land_files(
        "temperature", [tmp_path / "a.jsonl.gz", tmp_path / "b.json.gz"], paths=paths
    )
    assert report.lines == 6
    assert sorted(json.loads(line)["timestamp"] for line in landed(paths)) == [
        r["timestamp"] for r in READINGS
    ]


def test_csv_with_a_column_mapping(tmp_path: Path, paths: LakePaths) -> None:
    source = tmp_path / "export.csv"
    source.write_text("sensor,time,temp,battery\nA101,2026-03-01 00:00:00,21.5,90\n")
    mapping = parse_mapping("timestamp=time,room_id=sensor,temperature=temp")
    land_files("temperature", [source], paths=paths, mapping=mapping)
    assert [json.loads(line) for line in landed(paths)] == [
        {"timestamp": "2026-03-01 00:00:00", "room_id": "A101", "temperature": 21.5}
    ]


def test_csv_mapping_is_part_of_the_identity(tmp_path: Path, paths: LakePaths) -> None:
    # The first attempt's columns were wrong for the file; the corrected mapping lands it.
    source = tmp_path / "export.csv"
    source.write_text("time,sensor,temp,room_id\n2026-03-01 00:00:00,A101,21.5,wrong\n")
    land_files("temperature", [source], paths=paths, mapping=parse_mapping("timestamp=time"))
    again = land_files(
        "temperature", [source], paths=paths, mapping=parse_mapping("timestamp=time,room_id=sensor")
    )
    assert not again.files[0].skipped
    assert sorted(json.loads(line)["room_id"] for line in landed(paths)) == ["A101", "wrong"]


def test_folder_is_walked_recursively_and_other_files_are_left(
    tmp_path: Path, paths: LakePaths
) -> None:
    source = tmp_path / "exports"
    (source / "2026" / "03").mkdir(parents=True)
    (source / "top.ndjson").write_bytes(ndjson(READINGS[:2]))
    (source / "2026" / "03" / "deep.json").write_bytes(json.dumps(READINGS[2:4]).encode())
    (source / "2026" / "deeper.ndjson.gz").write_bytes(gzip.compress(ndjson(READINGS[4:])))
    (source / "README.txt").write_text("not data")
    report = land_files("temperature", [source], paths=paths)
    assert len(report.files) == 3 and report.lines == 6
    assert sorted(json.loads(line)["timestamp"] for line in landed(paths)) == [
        r["timestamp"] for r in READINGS
    ]


def test_relanding_the_same_content_is_a_no_op_that_says_so(
    tmp_path: Path, paths: LakePaths
) -> None:
    source = tmp_path / "readings.ndjson"
    source.write_bytes(ndjson(READINGS))
    land_files("temperature", [source], paths=paths)
    before = landed(paths)
    # the same bytes, renamed and touched: identity is the content, not the path
    copy = tmp_path / "copy" / "renamed.jsonl"
    copy.parent.mkdir()
    copy.write_bytes(source.read_bytes())
    done = cli(paths.data_dir, "temperature", str(source), str(copy))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("already landed") == 3  # two files, then the total
    assert "0 files landed" in done.stdout
    assert landed(paths) == before
    # a changed file is new content and lands
    source.write_bytes(ndjson(READINGS[:1]))
    assert land_files("temperature", [source], paths=paths).lines == 1


def test_traffic_and_seismic_land_in_their_feeds(tmp_path: Path, paths: LakePaths) -> None:
    traffic = tmp_path / "traffic.ndjson"
    traffic.write_text('{"unieke_id": 1, "tijd_waarneming": 1767225600}\n')
    land_files("traffic", [traffic], paths=paths)
    assert landed(paths, TRAFFIC_FEED) == traffic.read_bytes().splitlines()

    usgs = {
        "type": "FeatureCollection",
        "metadata": {"generated": 1},
        "features": [
            {
                "type": "Feature",
                "id": "us7000abcd",
                "geometry": {"type": "Point", "coordinates": [4.5, 50.8, 10.0]},
                "properties": {
                    "time": 1767225600000,
                    "updated": 1767225700000,
                    "mag": 2.5,
                    "magType": "ml",
                    "place": "Belgium",
                    "net": "us",
                    "code": "7000abcd",
                    "type": "earthquake",
                },
            }
        ],
    }
    quake = tmp_path / "quakes.geojson"
    quake.write_text(json.dumps(usgs, indent=2))  # pretty-printed: one collection over lines
    report = land_files("seismic", [quake], paths=paths)
    (line,) = landed(paths, SEISMIC_FEED)
    collection = json.loads(line)
    # the seismic importer's normaliser made it EMSC-shaped (depth negative below the surface)
    assert collection["features"][0]["geometry"]["coordinates"][2] == -10.0
    assert report.files[0].format == "geojson"


def test_s3_prefix(paths: LakePaths) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="exports")
        s3.put_object(Bucket="exports", Key="temps/a.ndjson", Body=ndjson(READINGS[:4]))
        s3.put_object(Bucket="exports", Key="temps/b.json.gz", Body=gzip.compress(b"[]"))
        s3.put_object(Bucket="exports", Key="temps/notes.md", Body=b"# notes")
        report = land_files("temperature", ["s3://exports/temps/"], paths=paths, s3_client=s3)
        assert [f.uri for f in report.files] == [
            "s3://exports/temps/a.ndjson",
            "s3://exports/temps/b.json.gz",
        ]
        assert report.lines == 4
        again = land_files("temperature", ["s3://exports/temps/"], paths=paths, s3_client=s3)
        assert all(f.skipped for f in again.files)


def test_user_written_quirks_keep_every_line(tmp_path: Path, paths: LakePaths) -> None:
    source = tmp_path / "quirky.ndjson"
    source.write_bytes(
        b'\xef\xbb\xbf{"timestamp":"2026-03-01 00:00:00","room_id":"A101","temperature":21}\r\n'
        b"\r\n"
        b'{"timestamp":"2026-03-01 01:00:00","room_id":"A1\xe901","temperature":21}\r\n'
        b'{"timestamp":"2026-03-01 02:00:00","room_id":"A101","temperature":22}'
    )
    report = land_files("temperature", [source], paths=paths)
    assert (report.lines, report.files[0].blank_lines) == (3, 1)
    lines = landed(paths)
    assert lines[0].startswith(b'{"timestamp"')  # the byte order mark is gone
    assert lines[0].endswith(b"\r")  # CRLF kept as written; the SQL reader drops the \r
    assert b"A1\\xe901" in lines[1]  # bad bytes escaped: the object stays valid UTF-8
    for line in lines:
        line.decode("utf-8")


def test_killed_land_rerun_lands_each_line_once(tmp_path: Path) -> None:
    source = tmp_path / "readings.ndjson"
    source.write_bytes(ndjson(READINGS))
    script = (
        "import sys; from pathlib import Path; from ingestion.land import land_files;"
        " from ingestion.settings import LakePaths;"
        " land_files('temperature', [sys.argv[1]], paths=LakePaths(Path(sys.argv[2])),"
        " max_lines_per_object=2)"
    )

    def run(data_dir: Path, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "EVENTLAKE_CRASH_AT"}
        if crash_at:
            env["EVENTLAKE_CRASH_AT"] = crash_at
        args = [sys.executable, "-c", script, str(source), str(data_dir)]
        return subprocess.run(args, capture_output=True, text=True, env=env, check=False)

    killed = run(tmp_path / "a", crash_at="object-landed:2")
    assert killed.returncode == -signal.SIGKILL
    assert len(landed(LakePaths(tmp_path / "a"))) == 4
    assert run(tmp_path / "a").returncode == 0
    assert run(tmp_path / "b").returncode == 0
    assert sorted(landed(LakePaths(tmp_path / "a"))) == sorted(landed(LakePaths(tmp_path / "b")))
    assert len(landed(LakePaths(tmp_path / "a"))) == 6


# --------------------------------------------------------------------------- errors


def test_a_path_with_no_file(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    one_error_line(cli(tmp_path / "data", "traffic", str(tmp_path / "empty")), "no file to land")
    one_error_line(cli(tmp_path / "data", "temperature", str(tmp_path / "gone")), "does not exist")


def test_unknown_format(tmp_path: Path) -> None:
    (tmp_path / "data.xml").write_text("<x/>")
    one_error_line(
        cli(tmp_path / "data", "temperature", str(tmp_path / "data.xml")), "unknown format"
    )
    # CSV is a temperature format only (the mapping is the temperature payload's)
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    one_error_line(cli(tmp_path / "data", "traffic", str(tmp_path / "t.csv")), "unknown format")


def test_unreadable_file_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from orchestration import cli as eventlake

    locked = tmp_path / "locked.ndjson"
    locked.write_bytes(ndjson(READINGS))

    def refuse(path: object, *args: object, **kwargs: object) -> object:
        # chmod 000 does not stop root (CI): the refusal is simulated where the file is opened
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("ingestion.source_files.open", refuse, raising=False)
    code = eventlake.main(
        ["--data-dir", str(tmp_path / "data"), "land", "temperature", str(locked)]
    )
    assert code == eventlake.EXIT_FAILURE
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "cannot read" in err[0] and "Permission denied" in err[0], err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file; simulated above")
def test_unreadable_file(tmp_path: Path) -> None:
    locked = tmp_path / "locked.ndjson"
    locked.write_bytes(ndjson(READINGS))
    locked.chmod(0)
    try:
        one_error_line(cli(tmp_path / "data", "temperature", str(locked)), "cannot read")
    finally:
        locked.chmod(0o644)


def test_broken_gzip_lands_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.ndjson").write_bytes(ndjson(READINGS))
    (tmp_path / "b.ndjson.gz").write_bytes(gzip.compress(ndjson(READINGS))[:-20])
    one_error_line(cli(tmp_path / "data", "temperature", str(tmp_path)), "b.ndjson.gz", "gzip")
    assert landed(LakePaths(tmp_path / "data")) == []  # not even the good file before it


def test_bad_json_array_and_missing_csv_columns_land_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('[{"timestamp": 1},')
    one_error_line(
        cli(tmp_path / "data", "temperature", str(tmp_path / "a.json")), "not a JSON array"
    )
    (tmp_path / "b.csv").write_text("time,sensor,temp\n2026-03-01 00:00:00,A101,21\n")
    one_error_line(
        cli(tmp_path / "data", "temperature", str(tmp_path / "b.csv")), "lacks column(s)", "--map"
    )
    assert landed(LakePaths(tmp_path / "data")) == []


def test_bad_map_arguments(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text("time,sensor,temp\n")
    one_error_line(
        cli(tmp_path / "data", "temperature", str(tmp_path / "b.csv"), "--map", "when=time"),
        "unknown field 'when'",
    )
    (tmp_path / "a.ndjson").write_bytes(ndjson(READINGS))
    one_error_line(
        cli(tmp_path / "data", "temperature", str(tmp_path / "a.ndjson"), "--map", "timestamp=t"),
        "CSV files only",
    )
    one_error_line(cli(tmp_path / "data", "rainfall", str(tmp_path)), "invalid choice")


def test_a_file_changed_while_landing_is_an_error(
    tmp_path: Path, paths: LakePaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "growing.ndjson"
    source.write_bytes(ndjson(READINGS[:3]))
    real_check = land._check

    def append_after_inspection(*args: object) -> None:
        real_check(*args)  # type: ignore[arg-type]
        with open(source, "ab") as handle:  # a writer still appending to the file
            handle.write(ndjson(READINGS[3:]))

    monkeypatch.setattr(land, "_check", append_after_inspection)
    with pytest.raises(LandError, match="changed while it was being landed"):
        land_files("temperature", [source], paths=paths)
    monkeypatch.undo()
    # not recorded as landed: the complete file lands on the next attempt
    assert not land_files("temperature", [source], paths=paths).files[0].skipped


def test_import_history_folder_without_csv_fails(tmp_path: Path) -> None:
    (tmp_path / "history").mkdir()
    (tmp_path / "history" / "readings.jsonl").write_bytes(ndjson(READINGS))
    done = run_eventlake(tmp_path / "data", "import-history", str(tmp_path / "history"))
    one_error_line(done, "no CSV file found", "eventlake land temperature")


def test_land_errors_are_land_errors(tmp_path: Path, paths: LakePaths) -> None:
    with pytest.raises(LandError, match="no file to land"):
        land_files("seismic", [tmp_path], paths=paths)


def test_scheduled_import_history_of_an_empty_folder_succeeds(tmp_path: Path) -> None:
    """--allow-empty (the scheduled imports: the runner and the AWS task) finds nothing to do."""
    (tmp_path / "history").mkdir()
    history = str(tmp_path / "history")
    done = run_eventlake(tmp_path / "data", "import-history", history, "--allow-empty")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("0 files imported")
