"""A dbt step on AWS: ``dbt <args>`` in the Fargate container, resumed with ``dbt retry``.

The state machine runs ``python -m orchestration.aws_dbt <step>`` with the dbt arguments in
``EVENTLAKE_DBT_ARGS`` (a JSON list, from the execution input) and the execution's name in
``EVENTLAKE_RUN_ID``. The container is gone after each attempt, so its ``run_results.json`` is
kept in S3 under ``$EVENTLAKE_DBT_STATE_URI/<run id>/<step>/``: when a retried attempt of the
step (the state's Retry after a transient error) finds one there, it runs ``dbt retry``, which
re-runs only the nodes that failed or were skipped, instead of the whole selection.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from orchestration.pipeline import step as pipeline_step

RUN_RESULTS = "run_results.json"


def _split(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or len(uri) <= 5:
        raise ValueError(f"EVENTLAKE_DBT_STATE_URI must be an s3:// URI, got {uri!r}")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix.strip("/")


# What the execution input may ask a dbt step to run: dbt's commands that build and test the
# project. Not `show`, `compile --inline` or `run-operation`, which would run any SQL or macro
# with the task's role.
DBT_COMMANDS = frozenset({"build", "run", "test", "seed", "snapshot", "source"})


def dbt_command(step_name: str, environ: Mapping[str, str], resuming: bool) -> list[str]:
    """``dbt retry`` when resuming, else ``dbt <EVENTLAKE_DBT_ARGS>`` (the pipeline's default)."""
    step = pipeline_step(step_name)
    if step.kind != "dbt":
        raise ValueError(f"step {step_name} is not a dbt step")
    if resuming:
        return ["dbt", "retry"]
    raw = environ.get("EVENTLAKE_DBT_ARGS")
    args = json.loads(raw) if raw else list(step.command)
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args) or not args:
        raise ValueError(f"EVENTLAKE_DBT_ARGS must be a JSON list of strings, got {raw!r}")
    command = next((a for a in args if not a.startswith("-")), None)
    if command not in DBT_COMMANDS or any(a.split("=")[0] in ("--inline", "-i") for a in args):
        raise ValueError(
            f"EVENTLAKE_DBT_ARGS must run one of dbt's {', '.join(sorted(DBT_COMMANDS))}"
            f" commands, got {raw!r}"
        )
    return ["dbt", *args]


def run_step(
    step_name: str,
    environ: Mapping[str, str],
    s3: Any,
    target_dir: Path,
    run: Callable[[list[str]], int] = lambda cmd: subprocess.run(cmd, check=False).returncode,
) -> int:
    """Run the step's dbt command, keep its run_results.json in S3, return dbt's exit code."""
    for name in ("EVENTLAKE_DBT_STATE_URI", "EVENTLAKE_RUN_ID"):
        if not environ.get(name):
            raise ValueError(f"{name} is not set (the state machine and task definition set it)")
    bucket, prefix = _split(environ["EVENTLAKE_DBT_STATE_URI"])
    key = "/".join(p for p in (prefix, environ["EVENTLAKE_RUN_ID"], step_name, RUN_RESULTS) if p)
    results = target_dir / RUN_RESULTS
    target_dir.mkdir(parents=True, exist_ok=True)
    # Listed, not probed with HeadObject: the task role may list only under the state prefix,
    # and S3 answers a HeadObject on a missing key with 403 (not 404) to a role that cannot list.
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("Contents", [])
    resuming = any(item["Key"] == key for item in listed)
    if resuming:
        s3.download_file(bucket, key, str(results))
    code = run(dbt_command(step_name, environ, resuming))
    # Kept whatever the outcome: a failure is what the next attempt resumes from, and a
    # success makes a re-run of this step a quick no-op retry.
    if results.exists():
        s3.upload_file(str(results), bucket, key)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m orchestration.aws_dbt <dbt step name>", file=sys.stderr)
        return 2
    import boto3

    return run_step(args[0], os.environ, boto3.client("s3"), Path("target"))


if __name__ == "__main__":
    sys.exit(main())
