"""Import historical CSV files (local or ``s3://``) into the raw zone's ``sensor_history`` feed.

Each CSV data row becomes one payload line (:func:`ingestion.history.transforms.to_payload`),
landed in objects of at most ``max_lines_per_object`` lines through :class:`RawZone` (atomic).

Idempotency: a manifest under the lake's state dir records every imported source (its URI and a
fingerprint: S3 ETag + size; local size + mtime + sha256). A source whose fingerprint is unchanged
is skipped; a changed one is imported again (its new content lands; the downstream de-duplication
absorbs the rows it shares with the old one). Each file lands in its own objects, named by the
file (URI, fingerprint) and their sequence (:func:`~ingestion.raw_zone.batch_object_id`), and
the manifest is rewritten atomically once a file's last object has landed. A crash mid-file
therefore re-reads that one file next time, skips the objects that had landed and lands the
rest: no line is lost and none lands twice.

Ragged rows (a column count different from the header's) are landed as the row's raw CSV text
(re-quoted, line breaks inside fields escaped as ``\\n``) instead of a JSON object. SQL then
quarantines the line as ``invalid_json`` with the original text visible. A record built from "what
could be read" was rejected: a row with an extra column would yield a payload that looks valid,
and a row with a shifted column would be quarantined for the wrong reason. Blank lines are not
rows and are only counted.

One writer at a time: concurrent imports into the same lake would race on the manifest.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from ingestion.history.transforms import DEFAULT_MAPPING, ColumnMapping, to_payload
from ingestion.raw_zone import RawZone, batch_object_id, utcnow
from ingestion.settings import LakePaths, lake_paths
from ingestion.source_files import (
    HashingReader,
    SourceError,
    SourceFile,
    already_imported,
    list_sources,
    manifest_entry,
    manifest_key,
    open_binary,
    save_manifest,
)
from ingestion.source_files import load_manifest as load_source_manifest

FEED = "sensor_history"
STREAM = "eventlake-history"
MANIFEST_NAME = "history_files_manifest.json"
DEFAULT_MAX_LINES = 100_000
_PROGRESS_EVERY = 1_000


class HistoryImportError(SourceError):
    """A source that cannot be imported, with what to do about it."""


@dataclass
class ImportReport:
    files_seen: int = 0
    files_imported: int = 0
    files_skipped: int = 0
    lines_landed: int = 0
    ragged_rows: int = 0
    blank_lines: int = 0
    objects: list[Path] = field(default_factory=list)


def _is_csv(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(".csv") or lower.endswith(".csv.gz")


def _raw_text(fields: list[str]) -> str:
    """A ragged row as one line of CSV text: never valid JSON object, original values visible."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue().replace("\r", "\\r").replace("\n", "\\n")


def _rows(
    source: SourceFile,
    reader: Iterator[list[str]],
    header: list[str],
    mapping: ColumnMapping,
    report: ImportReport,
) -> Iterator[dict[str, Any] | str]:
    missing = [c for c in mapping.source_columns if c not in header]
    if missing:
        raise HistoryImportError(
            f"{source.uri}: header {header} lacks column(s) {missing}; "
            "name the file's timestamp, room and temperature columns with a ColumnMapping"
            " (on the command line: eventlake land temperature FILE --map"
            " timestamp=...,room_id=...,temperature=...)"
        )
    width = len(header)
    for fields in reader:
        if not fields:
            report.blank_lines += 1
            continue
        if len(fields) != width:
            report.ragged_rows += 1
            yield _raw_text(fields)
            continue
        yield to_payload(dict(zip(header, fields, strict=True)), mapping)


def csv_payloads(
    source: SourceFile, client: Any, mapping: ColumnMapping, report: ImportReport
) -> Iterator[dict[str, Any] | str]:
    """Payload records (or raw text for ragged rows) of one source, streaming.

    After the generator is exhausted, ``source.fingerprint`` of local files gains ``sha256``.
    """
    hashing = HashingReader(open_binary(source, client))
    with io.BufferedReader(hashing, buffer_size=1 << 20) as buffered:
        binary: BinaryIO = buffered
        if source.gzip_compressed:
            binary = gzip.GzipFile(fileobj=buffered, mode="rb")  # type: ignore[assignment]
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(text)
        header = next(reader, None)
        if header is not None:  # an empty file is imported with no lines
            yield from _rows(source, reader, [name.strip() for name in header], mapping, report)
        # Drain (gzip trailer) so the hash covers the whole object.
        while buffered.read(1 << 20):
            pass
    if source.local_path is not None:
        source.fingerprint["sha256"] = hashing.sha256.hexdigest()


# --------------------------------------------------------------------------- manifest


def manifest_path(paths: LakePaths) -> Path:
    return paths.state / MANIFEST_NAME


def load_manifest(paths: LakePaths) -> dict[str, dict[str, Any]]:
    """``{source uri: {"fingerprint": ..., "lines": n, "imported_at": iso}}``."""
    return load_source_manifest(manifest_path(paths))


# --------------------------------------------------------------------------- import


def _progress(enabled: bool | None) -> Any:
    from tqdm import tqdm

    disable = not sys.stderr.isatty() if enabled is None else not enabled
    return tqdm(unit=" lines", desc="history import", disable=disable)


def import_history_files(
    source: str | os.PathLike[str],
    *,
    paths: LakePaths | None = None,
    mapping: ColumnMapping = DEFAULT_MAPPING,
    max_lines_per_object: int = DEFAULT_MAX_LINES,
    arrival: datetime | None = None,
    gzip_compressed: bool = False,
    s3_client: Any = None,
    s3_page_size: int = 1000,
    progress: bool | None = None,
    feed: str = FEED,
    stream: str = STREAM,
    require_files: bool = True,
) -> ImportReport:
    """Land every CSV row under ``source`` (file, folder or ``s3://bucket/prefix``) in ``feed``.

    ``arrival`` fixes the objects' processing time (default: now, per object). ``progress`` shows a
    tqdm bar (default: only when stderr is a terminal). A ``source`` holding no CSV file raises
    HistoryImportError unless ``require_files`` is false (a scheduled step whose source folder
    may legitimately be empty).
    """
    if max_lines_per_object < 1:
        raise ValueError("max_lines_per_object must be at least 1")
    paths = paths or lake_paths()
    zone = RawZone(paths.raw)
    sources, s3_client = list_sources(
        os.fspath(source),
        accept=_is_csv,
        s3_client=s3_client,
        page_size=s3_page_size,
        error=HistoryImportError,
        expected="a CSV file",
    )

    manifest = load_manifest(paths)
    report = ImportReport()
    buffer: list[dict[str, Any] | str] = []

    def flush(batch: str, sequence: int) -> None:
        landed = zone.write_object(
            feed,
            stream,
            buffer,
            arrival or utcnow(),
            gzip_compressed=gzip_compressed,
            object_id=batch_object_id(batch, sequence),
        )
        report.objects.append(landed)
        report.lines_landed += len(buffer)
        buffer.clear()

    with _progress(progress) as bar:
        for src in sources:
            report.files_seen += 1
            key = manifest_key(src, paths.data_dir)
            if already_imported(src, manifest_entry(manifest, src, paths.data_dir)):
                report.files_skipped += 1
                continue
            # The file's content as listed (before reading adds a sha256) and the object size
            # fix its objects' boundaries, so they name the objects of a replay after a crash.
            batch = json.dumps(
                [feed, stream, key, src.fingerprint, max_lines_per_object], sort_keys=True
            )
            lines = sequence = 0
            for line in csv_payloads(src, s3_client, mapping, report):
                buffer.append(line)
                lines += 1
                if lines % _PROGRESS_EVERY == 0:
                    bar.update(_PROGRESS_EVERY)
                if len(buffer) >= max_lines_per_object:
                    flush(batch, sequence)
                    sequence += 1
            if buffer:
                flush(batch, sequence)
            bar.update(lines % _PROGRESS_EVERY)
            report.files_imported += 1
            manifest.pop(src.uri, None)
            manifest[key] = {
                "fingerprint": src.fingerprint,
                "lines": lines,
                "imported_at": utcnow().isoformat(),
            }
            save_manifest(manifest_path(paths), manifest)
    if require_files and report.files_seen == 0:
        # An S3 prefix or a folder without a CSV file: "0 files imported" would hide a typo.
        raise HistoryImportError(
            f"{os.fspath(source)}: no CSV file found (looked for *.csv and *.csv.gz); check the"
            " path, or land NDJSON/JSON files with `eventlake land temperature`"
        )
    return report
