"""Import seismic GeoJSON files a user already has (a file, a folder or ``s3://bucket/prefix``)
into the raw zone's ``seismic_events`` feed.

Every FDSN-style FeatureCollection (EMSC, USGS, ...) is normalised by the pure
:func:`ingestion.seismic.normalise.normalise_file_lines` into compact lines in the EMSC
shape (one, or several when the file is longer than the reader's line limit) and landed as one
object; a file that cannot be normalised is landed as it is, line by line, so the SQL
quarantines what is wrong and the rest still passes. Files ending ``.json``, ``.geojson``
(optionally ``.gz``) are taken from folders; a file named explicitly is always taken.

Idempotency: the manifest (as for historical CSV files) records every imported file with its
fingerprint after its object has landed; an unchanged file is skipped, so importing the same
file twice is a no-op. A changed file is landed again; the latest ``lastupdate`` per event wins
downstream, so the re-landed events do not duplicate.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ingestion.raw_zone import RawZone, batch_object_id, utcnow
from ingestion.seismic.landing import FEED
from ingestion.seismic.normalise import normalise_file_lines
from ingestion.settings import LakePaths, lake_paths
from ingestion.source_files import (
    HashingReader,
    SourceError,
    SourceFile,
    already_imported,
    list_sources,
    load_manifest,
    manifest_entry,
    manifest_key,
    open_binary,
    save_manifest,
)

STREAM = "eventlake-seismic-import"
MANIFEST_NAME = "seismic_files_manifest.json"
SUFFIXES = (".json", ".geojson", ".json.gz", ".geojson.gz")


class SeismicImportError(SourceError):
    """A seismic source that cannot be imported, with what to do about it."""


@dataclass
class SeismicImportReport:
    files_seen: int = 0
    files_imported: int = 0
    files_skipped: int = 0
    kinds: Counter[str] = field(
        default_factory=Counter
    )  # emsc / usgs / not_a_collection / not_normalised
    objects: list[Path] = field(default_factory=list)

    def describe(self) -> str:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.kinds.items())) or "none"
        return (
            f"{self.files_imported} seismic files imported ({kinds}), "
            f"{self.files_skipped} already imported"
        )


def _is_geojson(name: str) -> bool:
    return name.lower().endswith(SUFFIXES)


def manifest_path(paths: LakePaths) -> Path:
    return paths.state / MANIFEST_NAME


def _read_text(source: SourceFile, client: Any) -> str:
    """The file's text (gunzipped); local files' fingerprints gain their sha256."""
    hashing = HashingReader(open_binary(source, client))
    with io.BufferedReader(hashing, buffer_size=1 << 20) as buffered:
        data = buffered.read()
    if source.local_path is not None:
        source.fingerprint["sha256"] = hashing.sha256.hexdigest()
    if source.gzip_compressed:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise SeismicImportError(
                f"{source.uri} is not a readable gzip file ({exc}); re-download it"
            ) from exc
    return data.decode("utf-8-sig", errors="replace")


def import_seismic_files(
    source: str | os.PathLike[str],
    *,
    paths: LakePaths | None = None,
    arrival: datetime | None = None,
    s3_client: Any = None,
    s3_page_size: int = 1000,
    progress: bool | None = None,
) -> SeismicImportReport:
    """Land every GeoJSON file under ``source`` in the ``seismic_events`` feed, once each."""
    from tqdm import tqdm

    paths = paths or lake_paths()
    zone = RawZone(paths.raw)
    sources, s3_client = list_sources(
        os.fspath(source),
        accept=_is_geojson,
        s3_client=s3_client,
        page_size=s3_page_size,
        error=SeismicImportError,
        expected="a GeoJSON file",
    )
    manifest = load_manifest(manifest_path(paths))
    report = SeismicImportReport()
    disable = not sys.stderr.isatty() if progress is None else not progress
    with tqdm(unit=" files", desc="seismic import", disable=disable) as bar:
        for src in sources:
            report.files_seen += 1
            bar.update(1)
            key = manifest_key(src, paths.data_dir)
            if already_imported(src, manifest_entry(manifest, src, paths.data_dir)):
                report.files_skipped += 1
                continue
            # Named by the file's listed content: a re-run after a crash between landing and
            # the manifest finds the object and does not land it twice.
            object_id = batch_object_id(json.dumps([key, src.fingerprint], sort_keys=True), 0)
            lines, kind = normalise_file_lines(_read_text(src, s3_client))
            try:
                report.objects.append(
                    zone.write_object(FEED, STREAM, lines, arrival or utcnow(), object_id=object_id)
                )
            except OSError as exc:
                raise SeismicImportError(
                    f"{src.uri}: could not land it in {zone.root} ({exc}); free space or fix"
                    " permissions and import again (files already imported are skipped)"
                ) from exc
            report.files_imported += 1
            report.kinds[kind] += 1
            manifest.pop(src.uri, None)
            manifest[key] = {
                "fingerprint": src.fingerprint,
                "kind": kind,
                "imported_at": utcnow().isoformat(),
            }
            save_manifest(manifest_path(paths), manifest)
    return report
