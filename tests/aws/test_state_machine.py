"""The deployed state machine, executed by moto's Step Functions interpreter.

The definition is ``orchestration.asl.render``'s, with the placeholders CloudFormation fills
set by ``asl.substitute``; only the states listed in ``SUBSTITUTED`` are changed for moto (see
``sfn_harness``). Scenarios: every state of the happy path, the no-new-data skip, a transient
Glue error healed by Retry, a permanent one caught, notified and failed, the Map over rooms.
"""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import boto3
import pytest
import trino_sql_validator
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.glue.exceptions import ConcurrentRunsExceededException
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from sfn_harness import (
    LAKE,
    REGION,
    ROOMS,
    VALUES,
    Execution,
    all_state_names,
    execute,
    for_moto,
)

from ml.config import RcfConfig
from orchestration.asl import AwsRelations, render, substitute

RELATIONS = AwsRelations(
    room_series='"awsdatacatalog"."eventlake_marts"."fct_room_temperature_series"',
    anomaly_scores='"awsdatacatalog"."eventlake_ml"."anomaly_scores"',
)
# What moto cannot run, substituted in code (sfn_harness.for_moto); named here so a change in
# the definition's integrations shows up as a failing test, not as a silent skip.
SUBSTITUTED = {
    "ExtractDatabase": "glue:startJobRun.sync -> glue:startJobRun",
    "ImportHistoryFiles": "ecs:runTask.sync -> Pass",
    "ImportSeismicFiles": "ecs:runTask.sync -> Pass",
    "CheckNewData": "ecs:runTask.sync -> Pass",
    "DbtBuild": "ecs:runTask.sync -> Pass",
    "DbtBuildAnomalies": "ecs:runTask.sync -> Pass",
    "ExportFeatures": "athena:startQueryExecution.sync -> aws-sdk:athena:startQueryExecution",
    "ExportScoringInput": "athena:startQueryExecution.sync -> aws-sdk:athena:startQueryExecution",
    "LandScores": "athena:startQueryExecution.sync -> aws-sdk:athena:startQueryExecution",
    "TrainModel": "sagemaker:createTrainingJob.sync -> aws-sdk:sagemaker:createTrainingJob",
    "CreateModel": "sagemaker:createModel -> aws-sdk:sagemaker:createModel",
    "ScoreReadings": "sagemaker:createTransformJob.sync -> aws-sdk:sagemaker:createTransformJob",
}
SKIP_PATH = {"NotifyNoNewData", "NoNewData"}
STAND_DOWN_PATH = {"NotifyRunInProgress", "RunInProgress"}
FAILURE_PATH = {"NotifyFailure", "Failed"}
LAST_RUN = "2026-11-30T23:00:00+00:00"
GATE_NEW = {"new_data": True, "new_objects": 12, "previous": "never", "watermark": LAST_RUN}
GATE_NONE = {**GATE_NEW, "new_data": False, "new_objects": 0, "previous": LAST_RUN}


@pytest.fixture(scope="module")
def rendered():
    return substitute(render(RELATIONS, RcfConfig()).definition, VALUES)


@pytest.fixture(scope="module")
def runnable(rendered):
    definition, substituted = for_moto(rendered)
    short = {k: v.replace("arn:aws:states:::", "") for k, v in substituted.items()}
    assert short == SUBSTITUTED
    return definition


@pytest.fixture
def retry_waits(monkeypatch):
    """The Retry waits moto would sleep, recorded instead of slept (keeps the tests fast)."""
    waits: list[float] = []
    monkeypatch.setattr(retrier_decl, "time", SimpleNamespace(sleep=waits.append))
    return waits


@pytest.fixture
def aws(monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=LAKE, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        boto3.client("glue", region_name=REGION).create_job(
            Name=VALUES["GlueJobName"],
            Role="arn:aws:iam::123456789012:role/glue",
            Command={"Name": "glueetl", "ScriptLocation": f"s3://{LAKE}/artifacts/glue/x.py"},
        )
        boto3.client("athena", region_name=REGION).create_work_group(Name="eventlake")
        sns = boto3.client("sns", region_name=REGION)
        topic = sns.create_topic(Name="eventlake-pipeline")["TopicArn"]
        assert topic == VALUES["TopicArn"]
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="notifications")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
        ssm = boto3.client("ssm", region_name=REGION)
        ssm.put_parameter(Name=VALUES["WatermarkParameter"], Value="never", Type="String")

        def messages() -> list[dict]:
            got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
            return [json.loads(m["Body"]) for m in got.get("Messages", [])]

        answers: list[dict] = []

        def gate(answer: dict) -> None:
            """What the gate container answers the next execution (for it, unless ``answer``
            names another execution; a field given as None is left out)."""
            answers.append(answer)

        def run(runnable: dict, payload: dict) -> Execution:
            def answer(execution: str) -> None:
                given = {"execution": execution, "running": "", **answers[-1]}
                value = json.dumps({k: v for k, v in given.items() if v is not None})
                name = VALUES["GateParameter"]
                ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)

            return execute(runnable, payload, before_start=answer)

        yield SimpleNamespace(messages=messages, gate=gate, run=run, ssm=ssm)


def _queries() -> list[str]:
    from moto.athena.models import athena_backends

    return [e.query for e in athena_backends[DEFAULT_ACCOUNT_ID][REGION].executions.values()]


def test_happy_path_visits_every_state(aws, runnable, rendered, retry_waits):
    aws.gate(GATE_NEW)
    run = aws.run(runnable, {})
    assert run.status == "SUCCEEDED", run.failures()
    assert set(run.entered) == (
        all_state_names(rendered) - SKIP_PATH - STAND_DOWN_PATH - FAILURE_PATH
    )
    assert run.failures() == [] and retry_waits == []
    # The order is the pipeline's.
    top = [s for s in run.entered if s in rendered["States"]]
    assert top == [
        "Configure", "MergeInput", "Imports", "CheckNewData", "ReadGateAnswer", "NewRawData",
        "DbtBuild", "ScoreRooms", "DbtBuildAnomalies", "RecordWatermark", "NotifySuccess",
    ]  # fmt: skip
    # The successful run recorded the gate's watermark for the next gate to compare with.
    stored = aws.ssm.get_parameter(Name=VALUES["WatermarkParameter"])["Parameter"]["Value"]
    assert stored == GATE_NEW["watermark"]
    (message,) = aws.messages()
    assert message["Subject"] == "eventlake run succeeded"
    assert "12 new raw objects since never" in message["Message"]
    assert all(room in message["Message"] for room in ROOMS)


def test_dbt_command_comes_from_the_execution_input(aws, runnable, retry_waits):
    aws.gate(GATE_NEW)
    run = aws.run(runnable, {"dbt_build": ["build", "--select", "staging"], "rooms": []})
    assert run.status == "SUCCEEDED"
    config = run.exited_output("MergeInput")["config"]
    assert config["dbt_build"] == ["build", "--select", "staging"]
    # Not given: the pipeline's default.
    assert config["dbt_build_anomalies"] == [
        "build",
        "--select",
        "stg_ml_scores__anomaly_scores+",
        "--exclude-resource-type",
        "unit_test",
    ]


def test_no_new_data_skips_the_rest_and_says_so(aws, runnable, retry_waits):
    aws.gate(GATE_NONE)
    run = aws.run(runnable, {})
    assert run.status == "SUCCEEDED"
    assert run.entered[-2:] == ["NotifyNoNewData", "NoNewData"]
    assert not {"DbtBuild", "ScoreRooms", "RecordWatermark"} & set(run.entered)
    (message,) = aws.messages()
    assert message["Subject"] == "eventlake run skipped"
    assert f"no new raw object since {LAST_RUN}" in message["Message"]
    # Nothing new, nothing recorded: the watermark is the last successful run's.
    assert aws.ssm.get_parameter(Name=VALUES["WatermarkParameter"])["Parameter"]["Value"] == "never"


OLDER_RUN = f"arn:aws:states:{REGION}:123456789012:execution:eventlake-pipeline:scheduled-0800"


@pytest.mark.parametrize(
    "answer",
    [
        {**GATE_NEW, "running": OLDER_RUN},  # an older run is still going
        {**GATE_NEW, "execution": OLDER_RUN},  # the answer another run's gate wrote
        # what the gate wrote before it named executions (a stack updated mid-run): not trusted
        {**GATE_NEW, "execution": None, "running": None},
    ],
    ids=["older-run-running", "answer-for-another-run", "answer-of-an-older-gate"],
)
def test_a_run_overlapping_another_stands_down_even_forced(aws, runnable, retry_waits, answer):
    aws.gate(answer)
    run = aws.run(runnable, {"force": True})
    assert run.status == "SUCCEEDED", run.failures()
    assert run.entered[-2:] == ["NotifyRunInProgress", "RunInProgress"]
    assert not {"DbtBuild", "ScoreRooms", "RecordWatermark"} & set(run.entered)
    (message,) = aws.messages()
    assert message["Subject"] == "eventlake run skipped"
    assert "another run of the pipeline is in progress" in message["Message"]
    assert (OLDER_RUN in message["Message"]) == (OLDER_RUN in answer.values())
    assert aws.ssm.get_parameter(Name=VALUES["WatermarkParameter"])["Parameter"]["Value"] == "never"


def test_force_runs_without_new_data(aws, runnable, retry_waits):
    aws.gate(GATE_NONE)
    run = aws.run(runnable, {"force": True, "rooms": []})
    assert run.status == "SUCCEEDED"
    assert "DbtBuild" in run.entered and "NoNewData" not in run.entered


def test_transient_failure_is_healed_by_retry(aws, runnable, retry_waits, monkeypatch):
    from moto.glue.models import GlueBackend

    real = GlueBackend.start_job_run
    calls = []

    def busy_once(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise ConcurrentRunsExceededException("the previous extract is still running")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(GlueBackend, "start_job_run", busy_once)
    aws.gate(GATE_NEW)
    run = aws.run(runnable, {"rooms": []})
    assert run.status == "SUCCEEDED"
    assert run.failures() == ["glue:startJobRun Glue.ConcurrentRunsExceededException"]
    assert len(calls) == 2
    # One wait, with full jitter: somewhere in [0, IntervalSeconds].
    assert len(retry_waits) == 1 and 0 <= retry_waits[0] <= 5
    assert "NotifyFailure" not in run.entered


def test_permanent_failure_is_caught_notified_and_failed(aws, runnable, retry_waits):
    boto3.client("glue", region_name=REGION).delete_job(JobName=VALUES["GlueJobName"])
    aws.gate(GATE_NEW)
    run = aws.run(runnable, {})
    assert run.status == "FAILED"
    # Not a transient error: no retry, straight to the Catch.
    assert run.failures() == ["glue:startJobRun Glue.EntityNotFoundException"]
    assert retry_waits == []
    assert run.entered[-2:] == ["NotifyFailure", "Failed"]
    assert "DbtBuild" not in run.entered
    (message,) = aws.messages()
    assert message["Subject"] == "eventlake run failed"
    assert "Glue.EntityNotFoundException" in message["Message"]
    failed = next(e for e in run.events if e["type"] == "ExecutionFailed")
    assert failed["executionFailedEventDetails"]["error"] == "EventlakeRunFailed"


def test_map_trains_and_scores_each_of_three_rooms(aws, runnable, retry_waits):
    # rooms from the execution input as a user names them (a space, non-ASCII: the registry
    # takes any id without a comma or a double quote)
    rooms = ["B201", "Büro \u2013 2ᵉ étage", "C301"]
    aws.gate(GATE_NEW)
    # the input cannot replace the SQL the pipeline sends (it would run with the pipeline's role)
    run = aws.run(runnable, {"rooms": rooms, "sql": {"export_features": "drop table x"}})
    assert run.status == "SUCCEEDED", run.failures()
    per_room = ["PlanRoom", "ExportFeatures", "ExportScoringInput", "TrainModel", "CreateModel",
                "ScoreReadings", "LandScores"]  # fmt: skip
    for state in per_room:
        assert run.entered.count(state) == 3, state

    sm = boto3.client("sagemaker", region_name=REGION)
    jobs = sm.list_training_jobs()["TrainingJobSummaries"]
    assert len({j["TrainingJobName"] for j in jobs}) == 3
    for summary in jobs:
        job = sm.describe_training_job(TrainingJobName=summary["TrainingJobName"])
        assert job["HyperParameters"] == {
            "feature_dim": "4", "num_samples_per_tree": "512", "num_trees": "50"
        }  # fmt: skip
        assert job["AlgorithmSpecification"]["TrainingImage"] == VALUES["RcfImageUri"]
        name = job["TrainingJobName"]
        channel = job["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
        assert channel == f"s3://{LAKE}/ml/export/{name}/train/"
    assert len(sm.list_models()["Models"]) == 3
    assert len(sm.list_transform_jobs()["TransformJobSummaries"]) == 3

    queries = _queries()
    for room in rooms:
        mine = [q for q in queries if f"room_id = '{room}'" in q or f"'{room}' as room_id" in q]
        kinds = sorted(q.split(" ", 1)[0] for q in mine)
        assert kinds == ["insert", "unload", "unload"], (room, kinds)
    assert len(queries) == 9 and not any("drop table" in q for q in queries)
    assert not any("{}" in q for q in queries)  # every placeholder was filled
    assert all(RELATIONS.room_series in q for q in queries if q.startswith("unload"))
    for query in queries:  # each one valid Trino SQL (Athena's grammar), the room inside included
        checked = trino_sql_validator.validate(query, dialect="trino", jinja="reject")
        assert checked.valid, (checked.error, query)


@pytest.mark.skipif(os.environ.get("CI_SKIP_STATELINT") == "1", reason="statelint disabled")
def test_rendered_definition_passes_statelint(rendered, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path / "sm.json"
    path.write_text(json.dumps(render(RELATIONS).definition))
    statelint = Path(sys.executable).with_name("statelint")
    done = subprocess.run([str(statelint), str(path)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "", done.stdout
