"""The raw zone's contract: where objects land and how they are written.

Every feed lands newline-delimited JSON exactly as Kinesis Data Firehose writes it to S3:
``<feed>/YYYY/MM/DD/HH/<stream>-<version>-<YYYY-MM-DD-HH-MM-SS>-<uuid>[.gz]``, the prefix and
the timestamp in the name being the (UTC) processing time. dbt derives ``landed_at`` from the
object name, so every writer must go through :func:`object_key`.

Exactly once across crashes: a writer that can replay its input (a simulated batch, an imported
file) names its objects with :func:`batch_object_id` instead of a random uuid, and
:meth:`RawZone.write_object` skips an id that has already landed. A run killed mid-batch and run
again lands only the missing objects, and the raw zone ends byte-identical to an uninterrupted
run's. Temporary files live in ``<lake>/.staging/raw``, outside every feed and zone folder, and
are named ``<pid>-<uuid>.tmp`` so the next writer can remove the leftovers of a dead one
(:func:`clean_staging`).
"""

from __future__ import annotations

import gzip
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingestion.crash_points import crash_point

STREAM_VERSION = 1
# Temporary objects live outside every feed's folder so no reader can glob a half-written file.
STAGING_DIR = ".staging"
# Deterministic object ids are uuid5s in this namespace (any fixed uuid would do).
_OBJECT_ID_NAMESPACE = uuid.UUID("6f1c1a3e-5b0e-4f7e-9a59-2f1f0d7c4e11")


def batch_object_id(batch: str, sequence: int) -> str:
    """The id of the ``sequence``-th object of ``batch``: same inputs, same id, in uuid form.

    dbt reads only the timestamp from an object's name, so a uuid5 in place of the random uuid4
    keeps every name valid while making a replayed batch land under the same names.
    """
    if sequence < 0:
        raise ValueError(f"sequence must not be negative, got {sequence}")
    return str(uuid.uuid5(_OBJECT_ID_NAMESPACE, f"{batch}/{sequence}"))


def staging_root_for(zone_root: Path) -> Path:
    """Where a zone (``<lake>/raw``, ``<lake>/curated``) stages files: ``<lake>/.staging/<zone>``.

    Outside the zone's folder, so no glob over the zone (``curated/**/*.parquet``) sees a
    half-written file, and on the same filesystem, so the final rename is atomic.
    """
    return zone_root.parent / STAGING_DIR / zone_root.name


def staging_file(staging_root: Path, suffix: str = ".tmp") -> Path:
    """A fresh temporary path in ``staging_root``, named after this process (see clean_staging)."""
    return staging_root / f"{os.getpid()}-{uuid.uuid4()}{suffix}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def clean_staging(staging_root: Path) -> int:
    """Remove temporary files left by writers that are no longer running; returns how many.

    A file whose name starts with a live process id (this one included) is another writer's
    work in progress and stays; a name without a pid prefix (older layouts) is removed.
    """
    if not staging_root.is_dir():
        return 0
    removed = 0
    for leftover in staging_root.iterdir():
        owner = leftover.name.split("-", 1)[0]
        if owner.isdigit() and _pid_alive(int(owner)):
            continue
        if leftover.is_file() or leftover.is_symlink():
            leftover.unlink(missing_ok=True)
            removed += 1
    return removed


def object_key(
    feed: str,
    stream: str,
    arrival: datetime,
    *,
    gzip_compressed: bool = False,
    version: int = STREAM_VERSION,
    object_id: str | None = None,
) -> str:
    """Firehose-style key relative to the raw zone, for an object delivered at ``arrival`` (UTC).

    ``object_id`` (from :func:`batch_object_id`) replaces the random uuid for replayable writers.
    """
    if arrival.tzinfo is None:
        raise ValueError("arrival must be timezone-aware (UTC); naive datetimes are ambiguous")
    arrival = arrival.astimezone(UTC)
    name = f"{stream}-{version}-{arrival:%Y-%m-%d-%H-%M-%S}-{object_id or uuid.uuid4()}"
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
    tmp = staging_file(staging_root)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            crash_point("before-rename")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class RawZone:
    """A local folder standing in for the raw zone's S3 bucket."""

    root: Path
    _landed_ids: dict[str, dict[str, Path]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _cleaned: set[Path] = field(default_factory=set, init=False, repr=False, compare=False)

    @property
    def staging_root(self) -> Path:
        return staging_root_for(self.root)

    def clean_staging(self) -> int:
        """Remove what crashed writers left in this zone's staging folder (see clean_staging)."""
        return clean_staging(self.staging_root)

    def landed(self, feed: str, object_id: str) -> Path | None:
        """The object of ``feed`` named with ``object_id``, whatever its hour, if it has landed."""
        ids = self._landed_ids.get(feed)
        if ids is None:
            # One listing per feed and zone instance: a replayed batch checks every object.
            ids = {_object_id_of(p): p for p in self.objects(feed)}
            self._landed_ids[feed] = ids
        return ids.get(object_id)

    def write_object(
        self,
        feed: str,
        stream: str,
        records: Iterable[Mapping[str, Any] | str | bytes],
        arrival: datetime,
        *,
        gzip_compressed: bool = False,
        object_id: str | None = None,
    ) -> Path:
        """Land one object of NDJSON records atomically; returns its path.

        With ``object_id``, an object of the feed already landed under that id is kept as it is
        and its path returned: a replayed batch lands each object once.
        """
        if not self._cleaned:
            # The start of a write: whatever a killed writer left in staging goes (including
            # the staging folder of older layouts, inside the zone).
            self.clean_staging()
            clean_staging(self.root / STAGING_DIR)
            self._cleaned.add(self.root)
        if object_id is not None and (done := self.landed(feed, object_id)) is not None:
            return done
        body = b"".join(encode_record(r) for r in records)
        if gzip_compressed:
            body = gzip.compress(body, mtime=0)
        key = object_key(
            feed, stream, arrival, gzip_compressed=gzip_compressed, object_id=object_id
        )
        path = self.root / key
        atomic_write_bytes(path, body, staging_root=self.staging_root)
        if object_id is not None:
            self._landed_ids.setdefault(feed, {})[object_id] = path
        crash_point("object-landed")
        return path

    def objects(self, feed: str) -> list[Path]:
        """Every landed object of a feed, oldest prefix first."""
        return sorted(p for p in (self.root / feed).glob("*/*/*/*/*") if p.is_file())


def _object_id_of(path: Path) -> str:
    """The id at the end of an object's name (the last five ``-`` fields: a uuid)."""
    stem = path.name.split(".", 1)[0]
    return "-".join(stem.split("-")[-5:])


def utcnow() -> datetime:
    return datetime.now(UTC)
