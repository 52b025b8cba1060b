"""`eventlake deploy --dry-run`: the template and the ASL it writes, and what they promise.

cfn-lint and statelint run on the written files here (checkov runs in `make iac-lint`, from its
own tool environment). The IAM check walks every statement: no data action on ``*``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from orchestration.asl import LOCAL_ONLY, TRANSIENT_ERRORS, AwsRelations, placeholders, render
from orchestration.cli import main as eventlake
from orchestration.pipeline import PIPELINE
from orchestration.template import substitutions, template

BIN = Path(sys.executable).parent
RELATIONS = AwsRelations('"awsdatacatalog"."e_marts"."fct"', '"awsdatacatalog"."e_ml"."scores"')
# Actions AWS only grants on "*" (no resource-level scope); none of them reads or writes data.
UNSCOPED_OK = {
    "ecr:GetAuthorizationToken",
    "cloudwatch:PutMetricData",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeRouteTables",
    "ec2:DescribeVpcAttribute",
    "ec2:DescribeNetworkInterfaces",
}


class _CfnLoader(yaml.SafeLoader):
    pass


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    """The real command, with the real `dbt parse --target athena` behind it."""
    out = tmp_path_factory.mktemp("deploy")
    assert eventlake(["deploy", "--dry-run", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def stack(written) -> dict:
    return yaml.load((written / "template.yaml").read_text(), Loader=_CfnLoader)


def test_deploy_writes_the_template_with_the_asl_inside(written, stack):
    asl = json.loads((written / "state-machine.asl.json").read_text())
    machine = stack["Resources"]["PipelineStateMachine"]["Properties"]
    assert machine["Definition"] == asl
    # Every placeholder of the definition is filled by CloudFormation, and nothing else is.
    assert set(machine["DefinitionSubstitutions"]) == placeholders(asl)
    # Relation names come from dbt's Athena manifest, with the stack's database prefix.
    sql = asl["States"]["Configure"]["Parameters"]["sql"]
    assert (
        '"awsdatacatalog"."eventlake_marts"."fct_room_temperature_series"'
        in (sql["export_features"])
    )
    assert sql["land_scores"].startswith('insert into "awsdatacatalog"."eventlake_ml"."')
    assert "main_marts" not in json.dumps(asl)


def test_cfn_lint_finds_nothing(written):
    done = subprocess.run(
        [str(BIN / "cfn-lint"), str(written / "template.yaml")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout


def test_statelint_finds_nothing(written):
    done = subprocess.run(
        [str(BIN / "statelint"), str(written / "state-machine.asl.json")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout


def test_statelint_is_not_blind(tmp_path):
    broken = render(RELATIONS).definition
    broken["States"]["MergeInput"]["Next"] = "NoSuchState"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    done = subprocess.run([str(BIN / "statelint"), str(path)], capture_output=True, text=True)
    assert "NoSuchState" in done.stdout


def _statements(stack: dict):
    for name, resource in stack["Resources"].items():
        for policy in resource.get("Properties", {}).get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                yield name, statement


def test_no_data_action_on_star(stack):
    unscoped = []
    for role, statement in _statements(stack):
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert all("*" not in a.split(":")[1] for a in actions), (role, actions)  # no s3:*
        if "*" in resources:
            unscoped += [(role, a) for a in actions if a not in UNSCOPED_OK]
    assert unscoped == []


def test_every_task_retries_transient_errors_and_every_failure_is_notified():
    definition = render(RELATIONS).definition

    def tasks(states: dict, top: bool):
        for name, state in states.items():
            if state["Type"] == "Task":
                yield name, state, top
            for branch in state.get("Branches", []):
                yield from tasks(branch["States"], False)
            if "ItemProcessor" in state:
                yield from tasks(state["ItemProcessor"]["States"], False)

    found = list(tasks(definition["States"], True))
    assert len(found) == 18
    for name, state, top in found:
        (retry,) = state["Retry"]
        assert retry["ErrorEquals"] == list(TRANSIENT_ERRORS), name
        assert retry["BackoffRate"] > 1 and retry["JitterStrategy"] == "FULL", name
        if top and name != "NotifyFailure":
            assert state["Catch"][0]["Next"] == "NotifyFailure", name
    # Inner tasks fail their Parallel or Map, which catches.
    for name in ("Imports", "ScoreRooms"):
        assert definition["States"][name]["Catch"][0]["Next"] == "NotifyFailure"


def test_every_pipeline_step_is_on_aws_or_says_why_not():
    rendered = render(RELATIONS)
    for step in PIPELINE:
        assert step.name in rendered.step_states or step.name in LOCAL_ONLY, step.name
    assert set(LOCAL_ONLY) == {"publish", "dashboards"}


def test_substitutions_cover_the_definition_and_name_the_rcf_image_per_region():
    definition = render(RELATIONS).definition
    assert set(substitutions()) == placeholders(definition)
    stack = template(definition, ["A101"])
    assert stack["Mappings"]["RcfRegistry"]["eu-west-1"] == {"Account": "438346466558"}
    assert stack["Parameters"]["ScheduleExpression"]["Default"] == "rate(1 day)"


def test_deploy_without_dry_run_or_with_a_bad_manifest_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as usage:
        eventlake(["deploy", "--out", str(tmp_path)])
    assert usage.value.code == 2
    assert eventlake(["deploy", "--dry-run", "--out", str(tmp_path), "--manifest", "nope"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "no dbt manifest at nope" in err[1]
    assert not list(tmp_path.iterdir())  # nothing written


def test_every_container_command_is_a_real_entry_point(monkeypatch):
    """Each ECS state runs `python -m <module> ...` of this package with arguments it accepts."""
    import importlib

    from orchestration import aws_dbt, aws_import

    definition = render(RELATIONS).definition
    commands = {}
    for name, state in definition["States"].items():
        for branch in state.get("Branches", []):
            for inner, inner_state in branch["States"].items():
                if inner_state["Resource"].endswith("ecs:runTask.sync"):
                    commands[inner] = inner_state
        if state.get("Resource", "").endswith("ecs:runTask.sync"):
            commands[name] = state
    assert sorted(commands) == [
        "CheckNewData", "DbtBuild", "DbtBuildAnomalies", "ImportHistoryFiles", "ImportSeismicFiles"
    ]  # fmt: skip
    for name, state in commands.items():
        (override,) = state["Parameters"]["Overrides"]["ContainerOverrides"]
        python, flag, module, *args = override["Command"]
        assert (python, flag) == ("python", "-m"), name
        assert callable(importlib.import_module(module).main), name
        if module == "orchestration.aws_dbt":
            assert aws_dbt.dbt_command(args[0], {}, resuming=False)[0] == "dbt"
        if module == "orchestration.aws_import":
            assert args[0] in aws_import.VERBS and args[1].startswith("${"), name
    assert (
        commands["CheckNewData"]["Parameters"]["Overrides"]["ContainerOverrides"][0]["Command"][-1]
        == "check"
    )
