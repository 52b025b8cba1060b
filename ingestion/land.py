"""``eventlake land <feed> PATH...``: land files a user already has in a feed's raw zone.

A PATH is a file, a folder (every file below it, recursively) or ``s3://bucket/prefix``, listed by
:func:`ingestion.source_files.list_sources`. Each file lands in the feed Firehose fills
(``temperature``: ``sensor_readings``, ``traffic``: ``traffic_measurements``, ``seismic``:
``seismic_events``), under Firehose's object names and through :meth:`RawZone.write_object`
(atomic), so the staging models read it like any delivery.

Formats, chosen by the name (``.gz`` of any of them is gunzipped first):

- ``.json``, ``.jsonl``, ``.ndjson``: newline-delimited JSON, each line landed byte for byte;
  or, when the first byte that is not white space is ``[``, one JSON array whose elements land
  one per line (compact JSON). A UTF-8 byte order mark at the start is dropped; blank lines are
  counted, not landed; a line that is not UTF-8 lands with its bad bytes as ``\\xNN`` escapes
  (the MQTT bridge's rule), never valid JSON, so SQL quarantines that line as ``invalid_json``
  and the rest of the object is read.
- ``.csv`` (temperature only): one payload line per row through the history import's reader
  and a :class:`~ingestion.history.transforms.ColumnMapping` given as ``--map
  timestamp=time,room_id=sensor,temperature=temp`` (default: ``timestamp,room_id,temp``).
- ``seismic``: a ``.json``/``.geojson`` file holding a FeatureCollection goes through the
  seismic importer's normaliser (:func:`ingestion.seismic.normalise.normalise_file_lines`), as
  ``import-seismic`` does; a file of one collection per line is normalised line by line.

Identity is the file's content: the sha256 of its bytes as stored (a ``.gz`` file by its
compressed bytes), the feed and, for CSV, the column mapping. A manifest in the state folder
(``land_manifest.json``) records each identity after its last object has landed; landing the same
content again, under any name or path, is a no-op and says so. The objects are named
:func:`~ingestion.raw_zone.batch_object_id` of that identity and their sequence, so a crash
mid-file and a re-run land the missing objects only: nothing is lost or landed twice.

A PATH that yields no file, a file of an unknown format, or one that cannot be read (missing,
permission denied, broken gzip, a ``[`` file that is not a JSON array) raises :class:`LandError`
with what to do; every file is checked (read and hashed) before the first object lands. A file
whose content changes between that check and its landing (a writer still appending) raises
LandError and is not recorded, so the next attempt lands it whole.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from ingestion.history.files import ImportReport, csv_payloads
from ingestion.history.transforms import DEFAULT_MAPPING, ColumnMapping
from ingestion.raw_zone import RawZone, batch_object_id, utcnow
from ingestion.seismic.landing import FEED as SEISMIC_FEED
from ingestion.seismic.landing import STREAM as SEISMIC_STREAM
from ingestion.seismic.normalise import normalise_file_lines
from ingestion.sensors.landing import LIVE_FEED, LIVE_STREAM
from ingestion.settings import LakePaths
from ingestion.source_files import (
    HashingReader,
    SourceError,
    SourceFile,
    list_sources,
    load_manifest,
    open_binary,
    save_manifest,
)
from ingestion.traffic.landing import TRAFFIC_FEED, TRAFFIC_STREAM

MANIFEST_NAME = "land_manifest.json"
DEFAULT_MAX_LINES = 100_000
_BOM = b"\xef\xbb\xbf"
_JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


class LandError(SourceError):
    """A path or file that cannot be landed, with what to do about it."""


@dataclass(frozen=True)
class Feed:
    """A feed users can land files in: its raw-zone folder, stream name and file formats."""

    raw_feed: str
    stream: str
    suffixes: tuple[str, ...]


FEEDS: dict[str, Feed] = {
    "temperature": Feed(LIVE_FEED, LIVE_STREAM, (*_JSON_SUFFIXES, ".csv")),
    "traffic": Feed(TRAFFIC_FEED, TRAFFIC_STREAM, _JSON_SUFFIXES),
    "seismic": Feed(SEISMIC_FEED, SEISMIC_STREAM, (*_JSON_SUFFIXES, ".geojson")),
}


@dataclass
class FileLanding:
    uri: str
    format: str
    skipped: bool = False
    lines: int = 0
    objects: int = 0
    blank_lines: int = 0
    landed_before: str | None = None  # the manifest entry's uri and time, when skipped

    def describe(self) -> str:
        if self.skipped:
            return f"{self.uri}: already landed ({self.landed_before}), skipped"
        blank = f", {_count(self.blank_lines, 'blank line')} not landed" if self.blank_lines else ""
        return (
            f"{self.uri}: {_count(self.lines, 'line')} landed in {_count(self.objects, 'object')}"
            f" ({self.format}{blank})"
        )


@dataclass
class LandReport:
    feed: str
    files: list[FileLanding] = field(default_factory=list)
    objects: list[Path] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return sum(f.lines for f in self.files)

    def describe(self) -> str:
        landed = [f for f in self.files if not f.skipped]
        return (
            f"{self.feed}: {_count(len(landed), 'file')} landed ({_count(self.lines, 'line')}, "
            f"{_count(len(self.objects), 'object')}), {len(self.files) - len(landed)} already"
            " landed"
        )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def format_of(name: str, feed: Feed) -> str | None:
    """``json`` or ``csv`` (or ``geojson``) for a file name the feed takes, else None."""
    lower = name.lower().removesuffix(".gz")
    for suffix in feed.suffixes:
        if lower.endswith(suffix):
            return "csv" if suffix == ".csv" else "json"
    return None


def parse_mapping(text: str) -> ColumnMapping:
    """``timestamp=time,room_id=sensor,temperature=temp`` as a ColumnMapping (others default)."""
    fields = {name for name, _column, _type in DEFAULT_MAPPING.pairs()}
    chosen: dict[str, str] = {}
    for pair in text.split(","):
        name, sep, column = (part.strip() for part in pair.partition("="))
        if not sep or not name or not column:
            raise ValueError(f"--map {text!r}: expected field=column pairs, e.g. timestamp=time")
        if name not in fields:
            raise ValueError(f"--map: unknown field {name!r}; the fields are {sorted(fields)}")
        chosen[name] = column
    return ColumnMapping(**chosen)


# --------------------------------------------------------------------------- reading


@contextmanager
def _content(source: SourceFile, client: Any) -> Iterator[tuple[BinaryIO, HashingReader]]:
    """The file's (gunzipped) bytes as a stream, and the reader hashing its stored bytes; the
    file is closed on exit (a GzipFile does not close the file under it)."""
    try:
        hashing = HashingReader(open_binary(source, client))
    except OSError as exc:
        raise LandError(
            f"cannot read {source.uri}: {exc.strerror or exc}; check the path and this user's"
            " read access, then land it again"
        ) from exc
    with io.BufferedReader(hashing, buffer_size=1 << 20) as buffered:
        if source.gzip_compressed:
            with gzip.GzipFile(fileobj=buffered, mode="rb") as inflated:
                yield inflated, hashing  # type: ignore[misc]
        else:
            yield buffered, hashing
        while buffered.read(1 << 20):  # the rest (a gzip trailer), so the hash covers it all
            pass


def _inspect(source: SourceFile, client: Any) -> tuple[str, bytes]:
    """The sha256 of the stored bytes and the first content byte that is not white space
    (after a byte order mark; empty for an empty file). Reads the whole file, so a broken gzip
    stream or an unreadable file fails here, before anything lands."""
    first = b""
    try:
        with _content(source, client) as (stream, hashing):
            head = stream.read(1 << 20)
            at_start = head.removeprefix(_BOM)
            while True:
                if not first and (stripped := at_start.lstrip(b" \t\r\n")):
                    first = stripped[:1]
                if not (at_start := stream.read(1 << 20)):
                    break
    except (OSError, EOFError, zlib.error) as exc:
        raise LandError(
            f"cannot read {source.uri}: {exc}; if it is gzip, it is broken or truncated:"
            " fetch it again"
        ) from exc
    return hashing.sha256.hexdigest(), first


Record = str | bytes | dict[str, Any]


def _ndjson_lines(stream: BinaryIO, landing: FileLanding) -> Iterator[Record]:
    """Each non-blank line, byte for byte (its ``\\n`` removed; a ``\\r`` before it stays, as
    the SQL reader drops it); bytes that are not UTF-8 become ``\\xNN`` escapes."""
    first = True
    for raw in stream:
        line = raw.removesuffix(b"\n")
        if first:
            line, first = line.removeprefix(_BOM), False
        if not line.strip(b" \t\r"):
            landing.blank_lines += 1
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            line = line.decode("utf-8", errors="backslashreplace").encode()
        yield line


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _array_lines(stream: BinaryIO, source: SourceFile) -> list[str]:
    """The elements of a JSON array file, one compact line each (parsed whole, before landing)."""
    data = stream.read().removeprefix(_BOM)
    try:
        elements = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise LandError(
            f"{source.uri} starts with '[' but is not a JSON array ({exc}); fix it, or write"
            " one JSON object per line (NDJSON)"
        ) from exc
    if not isinstance(elements, list):
        raise LandError(f"{source.uri} starts with '[' but is not a JSON array; fix it")
    return [_compact(element) for element in elements]


def _check(
    source: SourceFile, client: Any, file_format: str, first_byte: bytes, mapping: ColumnMapping
) -> None:
    """Raise LandError now for what would otherwise fail mid-landing: a CSV header without
    the mapped columns, a ``[`` file that is not a JSON array."""
    if file_format == "csv":
        rows = csv_payloads(source, client, mapping, ImportReport())
        try:
            next(rows, None)  # the header is checked before the first row is yielded
        finally:
            rows.close()
    elif first_byte == b"[":
        with _content(source, client) as (stream, _hashing):
            _array_lines(stream, source)


def _seismic_lines(lines: list[str]) -> Iterator[str]:
    """Each text through the seismic importer's normaliser: a whole FeatureCollection file
    becomes its normalised line(s); a file that is not one is tried line by line."""
    for text in lines:
        normalised, kind = normalise_file_lines(text)
        if kind != "not_normalised" or len(normalised) <= 1:
            yield from normalised
            continue
        for line in normalised:
            if line.strip():
                yield from normalise_file_lines(line)[0]


def _records(
    source: SourceFile,
    client: Any,
    file_format: str,
    first_byte: bytes,
    digest: str,
    feed: str,
    mapping: ColumnMapping,
    landing: FileLanding,
) -> Iterator[Record]:
    """The file's records; raises LandError at the end if its content is not the inspected one."""
    if file_format == "csv":
        report = ImportReport()
        yield from csv_payloads(source, client, mapping, report)
        landing.blank_lines += report.blank_lines
        read = source.fingerprint.get("sha256", digest)  # set for local files
    else:
        with _content(source, client) as (stream, hashing):
            if first_byte == b"[":
                landing.format = "json array"
                elements = _array_lines(stream, source)
                yield from _seismic_lines(elements) if feed == "seismic" else elements
            elif feed == "seismic":
                text = stream.read().decode("utf-8-sig", errors="replace")
                landing.format = "geojson"
                yield from _seismic_lines([text])
            else:
                yield from _ndjson_lines(stream, landing)
        read = hashing.sha256.hexdigest()
    if read != digest:
        raise LandError(
            f"{source.uri} changed while it was being landed; land it again once it is complete"
            " (lines already landed from it are counted and de-duplicated downstream)"
        )


# --------------------------------------------------------------------------- landing


def _chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    """The records in lists of at most ``size``: one raw object each."""
    chunk: list[Record] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _sources(
    feed: Feed, path: str, paths: LakePaths, s3_client: Any, page_size: int
) -> tuple[list[SourceFile], Any]:
    listed, s3_client = list_sources(
        path,
        accept=lambda name: format_of(name, feed) is not None,
        s3_client=s3_client,
        page_size=page_size,
        error=LandError,
        expected="a file",
    )
    # The lake's own files (a data folder inside the folder given) are never landed again.
    found = [
        src
        for src in listed
        if src.local_path is None or not src.local_path.is_relative_to(paths.data_dir)
    ]
    if not found:
        raise LandError(
            f"{path}: no file to land (looked for {', '.join(feed.suffixes)}, optionally .gz);"
            " check the path"
        )
    return found, s3_client


def land_files(
    feed_name: str,
    sources: Sequence[str | os.PathLike[str]],
    *,
    paths: LakePaths,
    mapping: ColumnMapping | None = None,
    max_lines_per_object: int = DEFAULT_MAX_LINES,
    arrival: datetime | None = None,
    s3_client: Any = None,
    s3_page_size: int = 1000,
) -> LandReport:
    """Land every file under ``sources`` in ``feed_name``'s raw zone, each content once."""
    if feed_name not in FEEDS:
        raise ValueError(f"unknown feed {feed_name!r}; land one of {sorted(FEEDS)}")
    if max_lines_per_object < 1:
        raise ValueError("max_lines_per_object must be at least 1")
    feed = FEEDS[feed_name]
    files: list[tuple[SourceFile, str]] = []
    for source in sources:
        found, s3_client = _sources(feed, os.fspath(source), paths, s3_client, s3_page_size)
        for src in found:
            file_format = format_of(src.uri, feed)
            if file_format is None:
                raise LandError(
                    f"{src.uri}: unknown format for feed {feed_name}; name it"
                    f" {', '.join(feed.suffixes)} (optionally .gz) if it is one of those"
                )
            if mapping is not None and file_format != "csv":
                raise LandError(f"--map applies to CSV files only; {src.uri} is not CSV")
            files.append((src, file_format))
    # Every file is read, hashed and checked before the first object lands: a bad one lands
    # nothing, not even the files listed before it.
    inspected = [(src, fmt, *_inspect(src, s3_client)) for src, fmt in files]
    for src, file_format, _digest, first_byte in inspected:
        _check(src, s3_client, file_format, first_byte, mapping or DEFAULT_MAPPING)

    zone = RawZone(paths.raw)
    manifest_file = paths.state / MANIFEST_NAME
    manifest = load_manifest(manifest_file)
    report = LandReport(feed_name)
    for src, file_format, digest, first_byte in inspected:
        used = mapping or DEFAULT_MAPPING
        extra = [list(used.source_columns)] if file_format == "csv" else []
        identity = json.dumps([feed_name, digest, *extra])
        landing = FileLanding(src.uri, "csv" if file_format == "csv" else "ndjson")
        report.files.append(landing)
        if (entry := manifest.get(identity)) is not None:
            landing.skipped = True
            landing.landed_before = f"same content as {entry['uri']}, landed {entry['landed_at']}"
            continue
        records = _records(
            src, s3_client, file_format, first_byte, digest, feed_name, used, landing
        )
        batch = json.dumps([identity, max_lines_per_object])
        for chunk in _chunks(records, max_lines_per_object):
            report.objects.append(
                zone.write_object(
                    feed.raw_feed,
                    feed.stream,
                    chunk,
                    arrival or utcnow(),
                    object_id=batch_object_id(batch, landing.objects),
                )
            )
            landing.objects += 1
            landing.lines += len(chunk)
        manifest[identity] = {
            "uri": src.uri,
            "lines": landing.lines,
            "objects": landing.objects,
            "landed_at": utcnow().isoformat(timespec="seconds"),
        }
        save_manifest(manifest_file, manifest)
    return report


# --------------------------------------------------------------------------- command line


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``land`` subcommand (registered by orchestration.cli)."""
    land = sub.add_parser(
        "land",
        help="land files you have (NDJSON, JSON array, CSV, .gz) in a feed's raw zone",
        parents=[common],
    )
    land.add_argument("feed", choices=sorted(FEEDS), help="the feed the files belong to")
    land.add_argument(
        "paths", nargs="+", metavar="PATH", help="files, folders (recursive) or s3://bucket/prefix"
    )
    land.add_argument(
        "--map",
        dest="column_map",
        help="CSV columns, e.g. timestamp=time,room_id=sensor,temperature=temp"
        " (default timestamp=timestamp,room_id=room_id,temperature=temp)",
    )


def run_cli(args: argparse.Namespace, paths: LakePaths) -> None:
    """Run ``eventlake land`` and print one line per file, then a total."""
    if args.column_map and args.feed != "temperature":
        raise ValueError("--map applies to CSV files, which only the temperature feed takes")
    mapping = parse_mapping(args.column_map) if args.column_map else None
    report = land_files(args.feed, args.paths, paths=paths, mapping=mapping)
    for landing in report.files:
        print(landing.describe())
    print(report.describe())
