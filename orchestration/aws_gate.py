"""The gate on AWS: did a new raw object land in the lake since the last successful run?

Runs in the Fargate container as ``python -m orchestration.aws_gate check`` (the state
machine's ``CheckNewData``). It lists the raw prefix, compares the newest ``LastModified`` with
the watermark the last successful execution stored (``RecordWatermark`` writes it only at the
end of a successful run, so a failed run's data is looked at again), and writes its answer as
JSON to an SSM parameter that ``ReadGateAnswer`` reads: an ECS task's output does not reach
the state machine, a parameter does.

Answer: ``{"new_data": bool, "new_objects": int, "previous": str, "watermark": str}``, with
``previous`` the stored watermark ("never" before the first successful run) and ``watermark``
the newest object's time, which becomes the stored watermark when this run succeeds.

S3 times are whole seconds: an object landing within the same second as the newest one listed,
after the listing, is not counted as new until a later object arrives (the next dbt run reads
it then; nothing is lost, it waits).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

NEVER = "never"
ENV = {
    "raw_uri": "EVENTLAKE_RAW_S3_URI",
    "watermark_parameter": "EVENTLAKE_WATERMARK_PARAMETER",
    "gate_parameter": "EVENTLAKE_GATE_PARAMETER",
}


@dataclass(frozen=True)
class GateAnswer:
    new_data: bool
    new_objects: int
    previous: str
    watermark: str


def _split(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or len(uri) <= 5:
        raise ValueError(f"raw zone must be an s3://bucket/prefix URI, got {uri!r}")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix.rstrip("/") + "/" if prefix else ""


def decide(s3: Any, raw_uri: str, previous: str | None) -> GateAnswer:
    """Count raw objects modified after ``previous`` (an ISO time, or None for never)."""
    bucket, prefix = _split(raw_uri)
    since = datetime.fromisoformat(previous) if previous and previous != NEVER else None
    newest: datetime | None = since
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            modified: datetime = item["LastModified"]
            if since is None or modified > since:
                count += 1
            if newest is None or modified > newest:
                newest = modified
    return GateAnswer(
        new_data=count > 0,
        new_objects=count,
        previous=previous or NEVER,
        watermark=newest.isoformat() if newest else NEVER,
    )


def check(s3: Any, ssm: Any, environ: Mapping[str, str]) -> GateAnswer:
    """Read the watermark, decide, and write the answer where the state machine reads it."""
    missing = [name for name in ENV.values() if not environ.get(name)]
    if missing:
        raise ValueError(f"the gate needs {', '.join(missing)} set (the task definition does)")
    try:
        stored = ssm.get_parameter(Name=environ[ENV["watermark_parameter"]])["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        stored = None
    answer = decide(s3, environ[ENV["raw_uri"]], stored)
    ssm.put_parameter(
        Name=environ[ENV["gate_parameter"]],
        Value=json.dumps(asdict(answer)),
        Type="String",
        Overwrite=True,
    )
    return answer


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args != ["check"]:
        print("usage: python -m orchestration.aws_gate check", file=sys.stderr)
        return 2
    import boto3

    answer = check(boto3.client("s3"), boto3.client("ssm"), os.environ)
    print(
        f"{answer.new_objects} new raw objects since {answer.previous}"
        if answer.new_data
        else f"no new raw object since {answer.previous}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
