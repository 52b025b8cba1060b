"""An import step on AWS: the same CLI verb as locally, its lake synced with the S3 lake.

The importers land in a local raw zone and keep what they imported in a manifest under the
lake's ``state/`` folder. In the Fargate container (``python -m orchestration.aws_import <verb>
<source>``) this wrapper gives them both: it downloads ``state/`` from the lake bucket into a
scratch data folder, runs ``eventlake --data-dir <scratch> <verb> <source>``, uploads every raw
object it landed to the bucket's ``raw/`` under the same key (the Firehose layout), and then the
state files it changed (the imports run in parallel, each owns its manifest). Raw objects go up
before the state that records them: a crash in between makes
the next run land the same files again as new objects, which the staging models' dedupe drops,
rather than lose them.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ingestion.raw_zone import STAGING_DIR
from ingestion.settings import LakePaths

VERBS = ("import-history", "import-seismic")


def _split(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or len(uri) <= 5:
        raise ValueError(f"EVENTLAKE_LAKE_S3_URI must be an s3://bucket[/prefix] URI, got {uri!r}")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix.strip("/")


def _key(prefix: str, *parts: str) -> str:
    return "/".join(p for p in (prefix, *parts) if p)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and STAGING_DIR not in p.parts)


def run_import(
    verb: str,
    source: str,
    lake_uri: str,
    s3: Any,
    workdir: Path,
    run: Callable[[list[str]], int],
) -> tuple[int, int]:
    """Run ``verb`` on a scratch lake synced with ``lake_uri``: (exit code, objects uploaded)."""
    if verb not in VERBS:
        raise ValueError(f"import verb must be one of {', '.join(VERBS)}, got {verb!r}")
    bucket, prefix = _split(lake_uri)
    paths = LakePaths(workdir)
    state_prefix = _key(prefix, "state") + "/"
    downloaded: dict[Path, bytes] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=state_prefix):
        for item in page.get("Contents", []):
            target = paths.state / item["Key"][len(state_prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, item["Key"], str(target))
            downloaded[target] = target.read_bytes()
    # A scheduled import with nothing in its source prefix has nothing to do, not an error.
    empty_ok = ["--allow-empty"] if verb == "import-history" else []
    code = run(["eventlake", "--no-progress", "--data-dir", str(workdir), verb, source, *empty_ok])
    if code != 0:
        return code, 0  # nothing recorded as imported is uploaded: the next run retries it
    landed = _files(paths.raw)
    for path in landed:
        relative = path.relative_to(paths.raw).as_posix()
        s3.upload_file(str(path), bucket, _key(prefix, "raw", relative))
    # Only the state this verb changed: the imports run in parallel branches, and uploading the
    # other importer's manifest as it was at download time would undo that importer's update.
    for path in _files(paths.state):
        if downloaded.get(path) == path.read_bytes():
            continue
        relative = path.relative_to(paths.state).as_posix()
        s3.upload_file(str(path), bucket, _key(prefix, "state", relative))
    return 0, len(landed)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    environ = os.environ if environ is None else environ
    if len(args) != 2 or args[0] not in VERBS:
        print(
            f"usage: python -m orchestration.aws_import {{{'|'.join(VERBS)}}} SOURCE",
            file=sys.stderr,
        )
        return 2
    lake_uri = environ.get("EVENTLAKE_LAKE_S3_URI")
    if not lake_uri:
        print(
            "error: EVENTLAKE_LAKE_S3_URI is not set (the task definition sets it)", file=sys.stderr
        )
        return 2
    import subprocess

    import boto3

    with tempfile.TemporaryDirectory() as scratch:
        code, uploaded = run_import(
            args[0],
            args[1],
            lake_uri,
            boto3.client("s3"),
            Path(scratch),
            lambda cmd: subprocess.run(cmd, check=False).returncode,
        )
    print(f"{args[0]}: {uploaded} raw objects uploaded to {lake_uri.rstrip('/')}/raw")
    return code


if __name__ == "__main__":
    sys.exit(main())
