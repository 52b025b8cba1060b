"""Run the rendered state machine in moto's Step Functions interpreter.

moto 5.2.5 executes Pass, Choice, Parallel, Map, Retry, Catch, intrinsic functions, ``sns:publish``,
``glue:startJobRun`` and ``aws-sdk:*`` tasks against its own backends. It cannot run the ``.sync``
forms this definition uses, nor ECS at all, nor the optimized SageMaker and Athena integrations
(its parser lists them unsupported). :func:`for_moto` therefore substitutes exactly those states,
in code, from the real definition (never a hand-edited copy), and reports each substitution:

- ``glue:startJobRun.sync`` -> ``glue:startJobRun`` (the same optimized Glue integration, without
  waiting for the run to end: moto's .sync callback fails on a None endpoint);
- ``athena:startQueryExecution.sync`` -> ``aws-sdk:athena:startQueryExecution`` (same parameters);
- ``sagemaker:<action>[.sync]`` -> ``aws-sdk:sagemaker:<action>`` (same parameters);
- ``ecs:runTask.sync`` -> a Pass state with the same Parameters, ResultPath and transition
  (moto's ECS integration fails with KeyError 'Cluster' for every form), so its paths and
  intrinsics are still evaluated. Its Retry cannot be exercised; the Retry tests use Glue.

Everything else, the control flow and the other tasks, is the deployed definition as rendered.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

REGION = "eu-west-1"
ACCOUNT = "123456789012"
LAKE = "eventlake-lake-test"
ROOMS = ("A101", "A102", "A103")

VALUES = {
    "AthenaWorkGroup": "eventlake",
    "EcsClusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/eventlake",
    "GateParameter": "/eventlake/pipeline/gate",
    "GlueDatabase": "eventlake_pipeline",
    "GlueJobName": "eventlake-extract-jdbc",
    "HistorySourceUri": f"s3://{LAKE}/sources/history_csv/",
    "LakeBucket": LAKE,
    "RcfImageUri": f"438346466558.dkr.ecr.{REGION}.amazonaws.com/randomcutforest:1",
    "Rooms": ",".join(ROOMS),
    "SageMakerRoleArn": f"arn:aws:iam::{ACCOUNT}:role/eventlake-sagemaker",
    "SecurityGroupId": "sg-0123456789abcdef0",
    "SeismicSourceUri": f"s3://{LAKE}/sources/seismic/",
    "SubnetId": "subnet-0123456789abcdef0",
    "TaskDefinitionArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/eventlake:1",
    "TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:eventlake-pipeline",
    "TrainingInstanceType": "ml.m4.xlarge",
    "TransformInstanceType": "ml.c5.xlarge",
    "WatermarkParameter": "/eventlake/pipeline/watermark",
}

SUBSTITUTE = {
    "arn:aws:states:::glue:startJobRun.sync": "arn:aws:states:::glue:startJobRun",
    "arn:aws:states:::athena:startQueryExecution.sync": (
        "arn:aws:states:::aws-sdk:athena:startQueryExecution"
    ),
}


def _each_state(states: dict[str, Any]):
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _each_state(branch["States"])
        if "ItemProcessor" in state:
            yield from _each_state(state["ItemProcessor"]["States"])


def all_state_names(definition: dict[str, Any]) -> set[str]:
    return {name for name, _ in _each_state(definition["States"])}


def for_moto(definition: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A copy moto can run, and {state: "<original resource> -> <replacement>"}."""
    runnable = copy.deepcopy(definition)
    substituted: dict[str, str] = {}
    for name, state in _each_state(runnable["States"]):
        resource = state.get("Resource")
        if state.get("Type") != "Task" or resource is None:
            continue
        replacement = SUBSTITUTE.get(resource)
        if resource.startswith("arn:aws:states:::sagemaker:"):
            action = resource.rsplit(":", 1)[1].removesuffix(".sync")
            replacement = f"arn:aws:states:::aws-sdk:sagemaker:{action}"
        if resource == "arn:aws:states:::ecs:runTask.sync":
            kept = {k: state[k] for k in ("Parameters", "ResultPath", "Next", "End") if k in state}
            state.clear()
            state.update({"Type": "Pass", **kept})
            substituted[name] = f"{resource} -> Pass"
        elif replacement:
            state["Resource"] = replacement
            substituted[name] = f"{resource} -> {replacement}"
    return runnable, substituted


@dataclass
class Execution:
    status: str
    events: list[dict[str, Any]]
    output: Any

    @property
    def entered(self) -> list[str]:
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.events
            if "stateEnteredEventDetails" in e
        ]

    def failures(self) -> list[str]:
        """``<resource type>:<resource> <error>`` of every failed task attempt, in order."""
        return [
            "{resourceType}:{resource} {error}".format(**e["taskFailedEventDetails"])
            for e in self.events
            if e["type"] == "TaskFailed"
        ]

    def exited_output(self, state: str) -> dict[str, Any]:
        for e in self.events:
            details = e.get("stateExitedEventDetails")
            if details and details["name"] == state:
                return json.loads(details["output"])
        raise AssertionError(f"state {state} never exited")


def execute(
    definition: dict[str, Any],
    payload: dict[str, Any],
    limit_s: float = 120,
    before_start: Callable[[str], None] = lambda arn: None,
) -> Execution:
    """Create the state machine in moto, run one execution to its end, return its history.
    ``before_start`` is given the execution's ARN before it starts (what the gate container,
    a Pass state here, would have answered for it is written then)."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(
        name=f"eventlake-{time.monotonic_ns()}",
        definition=json.dumps(definition),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/eventlake-pipeline",
    )["stateMachineArn"]
    name = "run-1"
    before_start(arn.replace(":stateMachine:", ":execution:") + f":{name}")
    run = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))
    run = run["executionArn"]
    # The interpreter runs in a thread; wait for it to finish (bounded, not a timing assumption:
    # the bound is far above the execution's real duration and only stops a hung test).
    deadline = time.monotonic() + limit_s
    while (described := sfn.describe_execution(executionArn=run))["status"] == "RUNNING":
        if time.monotonic() > deadline:
            raise AssertionError(f"execution still running after {limit_s}s")
        time.sleep(0.05)
    events = sfn.get_execution_history(executionArn=run, maxResults=1000)["events"]
    output = json.loads(described["output"]) if described.get("output") else None
    return Execution(described["status"], events, output)
