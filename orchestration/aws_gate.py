"""The gate on AWS: did a new raw object land in the lake since the last successful run?

Runs in the Fargate container as ``python -m orchestration.aws_gate check`` (the state
machine's ``CheckNewData``). It lists the raw prefix, compares the newest ``LastModified`` with
the watermark the last successful execution stored (``RecordWatermark`` writes it only at the
end of a successful run, so a failed run's data is looked at again), and writes its answer as
JSON to an SSM parameter that ``ReadGateAnswer`` reads: an ECS task's output does not reach
the state machine, a parameter does.

Answer: ``{"new_data": bool, "new_objects": int, "previous": str, "watermark": str,
"execution": str, "running": str}``, with ``previous`` the stored watermark ("never" before the
first successful run), ``watermark`` the newest object's time, which becomes the stored
watermark when this run succeeds, ``execution`` the execution the answer is for and
``running`` an older execution of the same state machine still running ("" when none).

One run at a time: an execution that finds an older one of its state machine still running (a
run longer than the schedule's interval, or a manual start during a scheduled run) answers
``running`` and the state machine skips the rest, so two runs never build the same tables at
once; the older run carries on and the next scheduled run picks up whatever landed. The answer
names its execution because every execution writes the same parameter: one that reads an
answer written for another (two gates within the same seconds) skips too, never acts on it.

S3 times are whole seconds: an object landing within the same second as the newest one listed,
after the listing, is not counted as new until a later object arrives (the next dbt run reads
it then; nothing is lost, it waits).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

NEVER = "never"
ENV = {
    "raw_uri": "EVENTLAKE_RAW_S3_URI",
    "watermark_parameter": "EVENTLAKE_WATERMARK_PARAMETER",
    "gate_parameter": "EVENTLAKE_GATE_PARAMETER",
    "execution": "EVENTLAKE_EXECUTION_ARN",  # set per execution by the state machine
}


@dataclass(frozen=True)
class GateAnswer:
    new_data: bool
    new_objects: int
    previous: str
    watermark: str
    execution: str = ""
    running: str = ""


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


def state_machine_of(execution_arn: str) -> str:
    """``arn:<partition>:states:<region>:<account>:stateMachine:<name>`` of an execution ARN."""
    parts = execution_arn.split(":")
    if len(parts) != 8 or parts[2] != "states" or parts[5] != "execution":
        raise ValueError(f"not a Step Functions execution ARN: {execution_arn!r}")
    return ":".join([*parts[:5], "stateMachine", parts[6]])


def older_running(sfn: Any, execution_arn: str) -> str:
    """The oldest other running execution of ``execution_arn``'s state machine that started
    before it (ties broken by ARN), or "" when there is none."""
    this: tuple[datetime, str] | None = None
    others: list[tuple[datetime, str]] = []
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=state_machine_of(execution_arn), statusFilter="RUNNING"
    )
    for page in pages:
        for item in page["executions"]:
            started = (item["startDate"], item["executionArn"])
            if item["executionArn"] == execution_arn:
                this = started
            else:
                others.append(started)
    if this is None:  # not listed as running: it is, since it runs this gate
        return min(others)[1] if others else ""
    older = [other for other in others if other < this]
    return min(older)[1] if older else ""


def check(s3: Any, ssm: Any, sfn: Any, environ: Mapping[str, str]) -> GateAnswer:
    """Read the watermark, decide, and write the answer where the state machine reads it."""
    missing = [name for name in ENV.values() if not environ.get(name)]
    if missing:
        raise ValueError(f"the gate needs {', '.join(missing)} set (the task definition does)")
    execution = environ[ENV["execution"]]
    try:
        stored = ssm.get_parameter(Name=environ[ENV["watermark_parameter"]])["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        stored = None
    running = older_running(sfn, execution)
    if running:  # that run covers what has landed so far; this one stands down
        answer = GateAnswer(False, 0, stored or NEVER, stored or NEVER, execution, running)
    else:
        answer = replace(decide(s3, environ[ENV["raw_uri"]], stored), execution=execution)
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

    answer = check(
        boto3.client("s3"), boto3.client("ssm"), boto3.client("stepfunctions"), os.environ
    )
    if answer.running:
        print(f"an older run is still running ({answer.running}): this one stands down")
    elif answer.new_data:
        print(f"{answer.new_objects} new raw objects since {answer.previous}")
    else:
        print(f"no new raw object since {answer.previous}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
