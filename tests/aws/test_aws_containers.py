"""What the Fargate container runs for the state machine: the gate, dbt with resume, imports.

Each runs against moto's S3 and SSM (AWS is not reachable here); the import runs the real
``eventlake import-history`` on a small CSV.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from orchestration import aws_dbt, aws_gate, aws_import
from orchestration.cli import main as eventlake

REGION = "eu-west-1"
BUCKET = "eventlake-lake-test"
ENV = {
    "EVENTLAKE_RAW_S3_URI": f"s3://{BUCKET}/raw",
    "EVENTLAKE_GATE_PARAMETER": "/eventlake/pipeline/gate",
    "EVENTLAKE_WATERMARK_PARAMETER": "/eventlake/pipeline/watermark",
}


@pytest.fixture
def s3(monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        yield client


def _running_execution(name: str) -> str:
    """An execution of the pipeline's state machine, left running (moto does not run it)."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = "arn:aws:states:eu-west-1:123456789012:stateMachine:eventlake-pipeline"
    if not sfn.list_state_machines()["stateMachines"]:
        created = sfn.create_state_machine(
            name="eventlake-pipeline",
            definition=json.dumps(
                {"StartAt": "Wait", "States": {"Wait": {"Type": "Pass", "End": True}}}
            ),
            roleArn="arn:aws:iam::123456789012:role/eventlake-pipeline",
        )
        assert created["stateMachineArn"] == machine
    return sfn.start_execution(stateMachineArn=machine, name=name)["executionArn"]


def _answer(ssm) -> dict:
    return json.loads(ssm.get_parameter(Name=ENV["EVENTLAKE_GATE_PARAMETER"])["Parameter"]["Value"])


def test_gate_sees_new_objects_since_the_last_successful_run(s3):
    ssm = boto3.client("ssm", region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key="raw/sensor_readings/2026/11/30/23/a-1", Body=b"{}\n")
    s3.put_object(Bucket=BUCKET, Key="raw/seismic_events/2026/11/30/23/b-1", Body=b"{}\n")
    s3.put_object(Bucket=BUCKET, Key="curated/not-raw", Body=b"x")

    sfn = boto3.client("stepfunctions", region_name=REGION)
    env = {**ENV, "EVENTLAKE_EXECUTION_ARN": _running_execution("run-1")}
    first = aws_gate.check(s3, ssm, sfn, env)  # no watermark yet: everything is new
    assert (first.new_data, first.new_objects, first.previous) == (True, 2, "never")
    assert _answer(ssm) == {
        "new_data": True,
        "new_objects": 2,
        "previous": "never",
        "watermark": first.watermark,
        "execution": env["EVENTLAKE_EXECUTION_ARN"],
        "running": "",
    }
    # The state machine's RecordWatermark stores the answer's watermark after a success.
    ssm.put_parameter(
        Name=ENV["EVENTLAKE_WATERMARK_PARAMETER"], Value=first.watermark, Type="String"
    )
    again = aws_gate.check(s3, ssm, sfn, env)
    assert (again.new_data, again.new_objects, again.watermark) == (False, 0, first.watermark)

    # Objects are new when modified after the watermark, whatever their keys.
    raw = ENV["EVENTLAKE_RAW_S3_URI"]
    assert aws_gate.decide(s3, raw, "2000-01-01T00:00:00+00:00").new_objects == 2
    assert not aws_gate.decide(s3, raw, "2099-01-01T00:00:00+00:00").new_data


def test_a_run_started_while_an_older_one_runs_stands_down(s3):
    """Two executions running at once (a run longer than the schedule's interval): the newer
    one's gate answers `running` with the older one, whatever landed; the older one is not held
    back by the newer."""
    ssm, sfn = boto3.client("ssm", region_name=REGION), boto3.client("stepfunctions", REGION)
    s3.put_object(Bucket=BUCKET, Key="raw/sensor_readings/2026/11/30/23/a-1", Body=b"{}\n")
    older = _running_execution("scheduled-0800")
    newer = _running_execution("scheduled-0900")

    stood_down = aws_gate.check(s3, ssm, sfn, {**ENV, "EVENTLAKE_EXECUTION_ARN": newer})
    assert (stood_down.running, stood_down.new_data, stood_down.execution) == (older, False, newer)
    assert _answer(ssm)["running"] == older
    went_on = aws_gate.check(s3, ssm, sfn, {**ENV, "EVENTLAKE_EXECUTION_ARN": older})
    assert (went_on.running, went_on.new_data, went_on.new_objects) == ("", True, 1)
    # once the older run has finished, a new one goes ahead
    sfn.stop_execution(executionArn=older)
    assert aws_gate.older_running(sfn, newer) == ""
    with pytest.raises(ValueError, match="not a Step Functions execution ARN"):
        aws_gate.state_machine_of("arn:aws:states:eu-west-1:123456789012:stateMachine:x")


def test_gate_says_what_is_missing(s3):
    ssm, sfn = boto3.client("ssm", region_name=REGION), boto3.client("stepfunctions", REGION)
    with pytest.raises(ValueError, match="EVENTLAKE_GATE_PARAMETER"):
        aws_gate.check(s3, ssm, sfn, {**ENV, "EVENTLAKE_GATE_PARAMETER": ""})
    with pytest.raises(ValueError, match="EVENTLAKE_EXECUTION_ARN"):
        aws_gate.check(s3, ssm, sfn, ENV)
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        aws_gate.decide(s3, "/local/raw", None)


def test_dbt_step_resumes_with_dbt_retry_on_a_redrive(s3, tmp_path: Path):
    env = {
        "EVENTLAKE_DBT_STATE_URI": f"s3://{BUCKET}/dbt-state",
        "EVENTLAKE_RUN_ID": "run-1",
        "EVENTLAKE_DBT_ARGS": json.dumps(["build", "--exclude", "stg_ml_scores__anomaly_scores+"]),
    }
    commands: list[list[str]] = []

    def dbt(outcome: str, code: int):
        def run(cmd: list[str]) -> int:
            commands.append(cmd)
            (tmp_path / "target" / "run_results.json").write_text(json.dumps({"r": outcome}))
            return code

        return run

    target = tmp_path / "target"
    assert aws_dbt.run_step("dbt_build", env, s3, target, dbt("failed", 1)) == 1
    key = "dbt-state/run-1/dbt_build/run_results.json"
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) == {"r": "failed"}

    # A re-drive is a new container: target/ is empty, the saved results are in S3.
    (target / "run_results.json").unlink()
    assert aws_dbt.run_step("dbt_build", env, s3, target, dbt("success", 0)) == 0
    assert commands == [
        ["dbt", "build", "--exclude", "stg_ml_scores__anomaly_scores+"],
        ["dbt", "retry"],
    ]
    assert json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()) == {"r": "success"}

    # Another execution starts from scratch with the pipeline's default when no args are given.
    other = {**env, "EVENTLAKE_RUN_ID": "run-2", "EVENTLAKE_DBT_ARGS": ""}
    aws_dbt.run_step("dbt_build_anomalies", other, s3, target, dbt("success", 0))
    assert commands[-1] == [
        "dbt",
        "build",
        "--select",
        "stg_ml_scores__anomaly_scores+",
        "--exclude-resource-type",
        "unit_test",
    ]


def test_dbt_step_rejects_what_is_not_a_dbt_step_or_args(s3, tmp_path: Path):
    env = {"EVENTLAKE_DBT_STATE_URI": f"s3://{BUCKET}/dbt-state", "EVENTLAKE_RUN_ID": "r"}
    with pytest.raises(ValueError, match="not a dbt step"):
        aws_dbt.run_step("publish", env, s3, tmp_path, lambda cmd: 0)
    with pytest.raises(ValueError, match="JSON list of strings"):
        aws_dbt.run_step(
            "dbt_build", {**env, "EVENTLAKE_DBT_ARGS": '"build"'}, s3, tmp_path, lambda c: 0
        )
    # the execution input chooses the dbt command, but not one that runs any SQL it names
    for args in (
        ["show", "--inline", "select 1"],
        ["run-operation", "drop_everything"],
        ["compile", "--inline", "{{ run_query('drop table x') }}"],
        ["--quiet", "debug"],
    ):
        with pytest.raises(ValueError, match="must run one of dbt's build, run, seed"):
            aws_dbt.dbt_command("dbt_build", {"EVENTLAKE_DBT_ARGS": json.dumps(args)}, False)
    allowed = ["--quiet", "source", "freshness"]
    assert aws_dbt.dbt_command("dbt_build", {"EVENTLAKE_DBT_ARGS": json.dumps(allowed)}, False)


HISTORY_CSV = "timestamp,room_id,temp\n" + "".join(
    f"2024-03-01 00:{m:02d}:00,A101,{20 + m / 10}\n" for m in range(0, 60, 15)
)


def test_import_lands_raw_objects_and_state_in_the_bucket_once(s3, tmp_path: Path):
    s3.put_object(Bucket=BUCKET, Key="sources/history_csv/a.csv", Body=HISTORY_CSV.encode())
    source = f"s3://{BUCKET}/sources/history_csv/"
    run = lambda cmd: eventlake(cmd[1:])  # noqa: E731 - the real CLI, in process

    code, uploaded = aws_import.run_import(
        "import-history", source, f"s3://{BUCKET}", s3, tmp_path / "first", run
    )
    assert code == 0 and uploaded > 0
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    raw = [k for k in keys if k.startswith("raw/sensor_history/")]
    assert len(raw) == uploaded and [k for k in keys if k.startswith("state/")]

    # A new container (empty scratch folder) with the bucket's state imports nothing twice.
    code, again = aws_import.run_import(
        "import-history", source, f"s3://{BUCKET}", s3, tmp_path / "second", run
    )
    assert (code, again) == (0, 0)
    after = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert sorted(k for k in after if k.startswith("raw/")) == sorted(raw)


def test_import_wrapper_refuses_other_verbs(s3, tmp_path: Path):
    with pytest.raises(ValueError, match="import-history, import-seismic"):
        aws_import.run_import("build", "x", f"s3://{BUCKET}", s3, tmp_path, lambda c: 0)
    assert aws_import.main(["import-history", "s3://x/y"], environ={}) == 2


SEISMIC_GEOJSON = (
    '{"type":"FeatureCollection","features":[{"type":"Feature","id":"us7000abcd",'
    '"geometry":{"type":"Point","coordinates":[142.1,38.3,35.5]},'
    '"properties":{"mag":4.5,"place":"off Honshu","time":1714557600123,'
    '"updated":1714560000000,"magType":"mb","type":"earthquake"}}]}'
)


def test_parallel_imports_do_not_undo_each_others_state(s3, tmp_path: Path):
    """The Imports Parallel state runs both importers at once: the one that uploads last must
    not put back the other's manifest as it was when both downloaded the state."""
    s3.put_object(Bucket=BUCKET, Key="sources/history_csv/a.csv", Body=HISTORY_CSV.encode())
    history = f"s3://{BUCKET}/sources/history_csv/"
    seismic = f"s3://{BUCKET}/sources/seismic/"
    lake = f"s3://{BUCKET}"
    # An earlier run: the seismic manifest exists in the bucket before both importers start.
    s3.put_object(Bucket=BUCKET, Key="sources/seismic/day1.geojson", Body=SEISMIC_GEOJSON.encode())
    assert aws_import.run_import(
        "import-seismic", seismic, lake, s3, tmp_path / "earlier", lambda c: eventlake(c[1:])
    ) == (0, 1)
    later = SEISMIC_GEOJSON.replace("us7000abcd", "us7000efgh")
    s3.put_object(Bucket=BUCKET, Key="sources/seismic/day2.geojson", Body=later.encode())

    def history_then_seismic_inside(cmd: list[str]) -> int:
        # History has downloaded the (empty) state; seismic runs and uploads before history does.
        code = eventlake(cmd[1:])
        assert aws_import.run_import(
            "import-seismic", seismic, lake, s3, tmp_path / "seismic", lambda c: eventlake(c[1:])
        ) == (0, 1)
        return code

    code, uploaded = aws_import.run_import(
        "import-history", history, lake, s3, tmp_path / "history", history_then_seismic_inside
    )
    assert code == 0 and uploaded > 0
    # Fresh containers with the bucket's state: neither importer lands its files again.
    for verb, source in (("import-seismic", seismic), ("import-history", history)):
        rerun = aws_import.run_import(
            verb, source, lake, s3, tmp_path / f"again-{verb}", lambda c: eventlake(c[1:])
        )
        assert rerun == (0, 0), verb
