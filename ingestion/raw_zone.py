"""The raw zone's contract: where objects land and how they are written.

Every feed lands newline-delimited JSON exactly as Kinesis Data Firehose writes it to S3:
``<feed>/YYYY/MM/DD/HH/<stream>-<version>-<YYYY-MM-DD-HH-MM-SS>-<uuid>[.gz]``, the prefix and
the timestamp in the name being the (UTC) processing time. dbt derives ``landed_at`` from the
object name, so every writer must go through :func:`object_key`.
"""

from __future__ import annotations

import gzip
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STREAM_VERSION = 1
# Temporary objects live outside every feed's folder so no reader can glob a half-written file.
STAGING_DIR = ".staging"


def object_key(
    feed: str,
    stream: str,
    arrival: datetime,
    *,
    gzip_compressed: bool = False,
    version: int = STREAM_VERSION,
) -> str:
    """Firehose-style key relative to the raw zone, for an object delivered at ``arrival`` (UTC)."""
    if arrival.tzinfo is None:
        raise ValueError("arrival must be timezone-aware (UTC); naive datetimes are ambiguous")
    arrival = arrival.astimezone(UTC)
    name = f"{stream}-{version}-{arrival:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"
    return f"{feed}/{arrival:%Y/%m/%d/%H}/{name}{'.gz' if gzip_compressed else ''}"


def encode_record(record: Mapping[str, Any] | str | bytes) -> bytes:
    """One NDJSON line. Pre-encoded strings/bytes pass through untouched (malformed test input)."""
    if isinstance(record, bytes):
        body = record
    elif isinstance(record, str):
        body = record.encode()
    else:
        body = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
    return body if body.endswith(b"\n") else body + b"\n"


def atomic_write_bytes(path: Path, data: bytes, *, staging_root: Path) -> None:
    """Write ``data`` to ``path`` so that readers see either nothing or the whole object."""
    staging_root.mkdir(parents=True, exist_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = staging_root / f"{uuid.uuid4()}.tmp"
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class RawZone:
    """A local folder standing in for the raw zone's S3 bucket."""

    root: Path

    @property
    def staging_root(self) -> Path:
        return self.root / STAGING_DIR

    def write_object(
        self,
        feed: str,
        stream: str,
        records: Iterable[Mapping[str, Any] | str | bytes],
        arrival: datetime,
        *,
        gzip_compressed: bool = False,
    ) -> Path:
        """Land one object of NDJSON records atomically; returns its path."""
        body = b"".join(encode_record(r) for r in records)
        if gzip_compressed:
            body = gzip.compress(body, mtime=0)
        path = self.root / object_key(feed, stream, arrival, gzip_compressed=gzip_compressed)
        atomic_write_bytes(path, body, staging_root=self.staging_root)
        return path

    def objects(self, feed: str) -> list[Path]:
        """Every landed object of a feed, oldest prefix first."""
        return sorted(p for p in (self.root / feed).glob("*/*/*/*/*") if p.is_file())


def utcnow() -> datetime:
    return datetime.now(UTC)
