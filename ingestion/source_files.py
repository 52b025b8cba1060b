"""Files a user already has, local or in S3: listing, fingerprints, reading, and the manifest
that makes importing them idempotent. Shared by every importer (history CSV, seismic GeoJSON).

A manifest under the lake's state dir records every imported source (its URI and a fingerprint:
S3 ETag + size; local size + mtime + sha256). A source whose fingerprint is unchanged is skipped.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ingestion.state import load_json_state, save_json_state


class SourceError(RuntimeError):
    """A source that cannot be imported, with what to do about it."""


@dataclass(frozen=True)
class SourceFile:
    """One file to import: its URI, a fingerprint, and how to open it."""

    uri: str
    fingerprint: dict[str, Any]
    gzip_compressed: bool
    local_path: Path | None = None
    bucket: str | None = None
    key: str | None = None


def _local_sources(
    root: Path, accept: Callable[[str], bool], error: type[SourceError], expected: str
) -> Iterator[SourceFile]:
    if not root.exists():
        raise error(f"source {root} does not exist; pass {expected}, a folder or s3://")
    files = [root] if root.is_file() else _files_under(root, error)
    for path in files:
        if path is not root and not accept(path.name):
            continue
        stat = path.stat()
        resolved = path.resolve()
        yield SourceFile(
            uri=resolved.as_uri(),
            fingerprint={"size": stat.st_size, "mtime_ns": stat.st_mtime_ns},
            gzip_compressed=path.name.lower().endswith(".gz"),
            local_path=resolved,
        )


def _files_under(root: Path, error: type[SourceError]) -> list[Path]:
    """Every file below ``root``; a folder that cannot be read is an error, never skipped
    (``Path.rglob`` skips it silently, and the import would report "0 files")."""

    def unreadable(exc: OSError) -> None:
        raise error(
            f"cannot read folder {exc.filename}: {exc.strerror}; give this user read access to it"
            " or pass a folder it can read"
        ) from exc

    found = []
    for folder, _dirs, names in os.walk(root, onerror=unreadable):
        found.extend(path for name in names if (path := Path(folder) / name).is_file())
    return sorted(found)


def parse_s3_uri(uri: str, error: type[SourceError] = SourceError) -> tuple[str, str]:
    rest = uri[len("s3://") :]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise error(f"{uri!r} names no bucket; expected s3://bucket/prefix")
    return bucket, prefix


def _s3_sources(
    uri: str,
    client: Any,
    page_size: int,
    accept: Callable[[str], bool],
    error: type[SourceError],
) -> Iterator[SourceFile]:
    bucket, prefix = parse_s3_uri(uri, error)
    paginator = client.get_paginator("list_objects_v2")
    pages = paginator.paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size}
    )
    for page in pages:
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if not accept(key) and key != prefix:
                continue
            yield SourceFile(
                uri=f"s3://{bucket}/{key}",
                fingerprint={"etag": obj["ETag"].strip('"'), "size": obj["Size"]},
                gzip_compressed=key.lower().endswith(".gz"),
                bucket=bucket,
                key=key,
            )


def list_sources(
    source: str,
    *,
    accept: Callable[[str], bool],
    s3_client: Any = None,
    page_size: int = 1000,
    error: type[SourceError] = SourceError,
    expected: str = "a file",
) -> tuple[Iterator[SourceFile], Any]:
    """The files under ``source`` (a file, a folder or ``s3://bucket/prefix``) whose names
    ``accept`` takes (a file named explicitly is always taken), and the S3 client to read them."""
    if source.startswith("s3://"):
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")
        return _s3_sources(source, s3_client, page_size, accept, error), s3_client
    return _local_sources(Path(source), accept, error, expected), s3_client


class HashingReader(io.RawIOBase):
    """Wraps a binary stream (file or botocore StreamingBody), hashing every byte read."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha256.update(data)
        return n

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def open_binary(source: SourceFile, client: Any) -> BinaryIO:
    if source.local_path is not None:
        return open(source.local_path, "rb")
    response = client.get_object(Bucket=source.bucket, Key=source.key)
    return response["Body"]


def load_manifest(path: Path) -> dict[str, dict[str, Any]]:
    """``{source uri: {"fingerprint": ..., ...}}`` from a manifest file (empty when missing)."""
    return load_json_state(path, {"files": {}})["files"]


def save_manifest(path: Path, files: dict[str, dict[str, Any]]) -> None:
    save_json_state(path, {"version": 1, "files": files})


def manifest_key(source: SourceFile, data_dir: Path) -> str:
    """A source's key in an import manifest: a file inside the data folder by its path relative
    to that folder (``data-dir:sources/...``), so a copied or moved data folder still knows what
    it imported; any other source by its URI."""
    if source.local_path is not None:
        try:
            inside = Path(source.local_path).resolve().relative_to(data_dir.resolve())
        except ValueError:
            return source.uri
        return f"data-dir:{inside.as_posix()}"
    return source.uri


def manifest_entry(
    manifest: dict[str, dict[str, Any]], source: SourceFile, data_dir: Path
) -> dict[str, Any] | None:
    """The manifest's entry for ``source`` (by :func:`manifest_key`, else by the absolute URI
    that manifests written before the data-folder-relative keys used)."""
    return manifest.get(manifest_key(source, data_dir)) or manifest.get(source.uri)


def already_imported(source: SourceFile, entry: dict[str, Any] | None) -> bool:
    """True when the manifest ``entry`` names this exact content (fingerprint, else sha256)."""
    if entry is None:
        return False
    old = entry["fingerprint"]
    if source.local_path is None:
        return (
            old.get("etag") == source.fingerprint["etag"]
            and old.get("size") == (source.fingerprint["size"])
        )
    if old.get("size") != source.fingerprint["size"]:
        return False
    if old.get("mtime_ns") == source.fingerprint["mtime_ns"]:
        return True
    # Touched but maybe not changed: compare content.
    digest = hashlib.sha256()
    with open(source.local_path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return old.get("sha256") == digest.hexdigest()
