"""The Amazon States Language definition, rendered from ``orchestration.pipeline.PIPELINE``.

The order is the pipeline's: consecutive steps of a ``parallel_group`` become one Parallel state,
the gate becomes a Task, a read of its answer and a Choice, ``per_room`` steps become one Map state
over rooms, dbt steps become ECS Fargate tasks, the summary becomes the SNS message. Each step
kind has one renderer here (``_RENDERERS``); a step kind without one, or a local-only step
without a reason in ``LOCAL_ONLY``, is an error, so a step added to the pipeline cannot be left
out of the AWS run silently.

Deployment-specific names (bucket, cluster, job, topic...) are ``${Name}`` placeholders that
CloudFormation fills through ``DefinitionSubstitutions`` (``orchestration.template``); the tests
fill them with :func:`substitute` and execute the same definition. No state reads a local file or
a DuckDB relation: warehouse relations are taken from dbt's manifest for the Athena target.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml.config import RcfConfig, SageMakerConfig
from ml.features import unload_features_sql
from ml.sagemaker import training_job_request
from orchestration.pipeline import PIPELINE, Step
from orchestration.relations import Relations

State = dict[str, Any]

# Steps the AWS run does not have, and why (the local runner still runs them).
LOCAL_ONLY = {
    "publish": "on Athena dbt already writes the marts as Parquet in the lake bucket; the local"
    " curated copy stands in for that",
    "dashboards": "the offline HTML pages are read from the local DuckDB warehouse; on AWS the"
    " marts are queried in place (Athena, QuickSight)",
}

# Errors worth retrying: throttling, capacity and service-side errors of the integrations used.
# A job that ran and failed (States.TaskFailed from a .sync integration) is not retried: it is
# caught, notified and fails the execution, and a re-drive resumes it.
TRANSIENT_ERRORS = (
    "ThrottlingException",
    "Glue.ConcurrentRunsExceededException",
    "Glue.ThrottlingException",
    "Glue.InternalServiceException",
    "Glue.OperationTimeoutException",
    "ECS.AmazonECSException",
    "ECS.ServerException",
    "Athena.TooManyRequestsException",
    "Athena.InternalServerException",
    "SageMaker.ThrottlingException",
    "SageMaker.AmazonSageMakerException",
    "SNS.ThrottledException",
    "SNS.InternalErrorException",
    "Ssm.ThrottlingException",
    "Ssm.InternalServerErrorException",
)
RETRY = {
    "ErrorEquals": list(TRANSIENT_ERRORS),
    "IntervalSeconds": 5,
    "BackoffRate": 2.0,
    "MaxAttempts": 4,
    "MaxDelaySeconds": 120,
    "JitterStrategy": "FULL",
}

NOTIFY_FAILURE = "NotifyFailure"
FAILED = "Failed"
CONTAINER = "eventlake"  # the container name in the Fargate task definition
SAGEMAKER_JOB_PREFIX = "eventlake-rcf-"


@dataclass(frozen=True)
class AwsRelations:
    """Warehouse relations the AWS states query, as dbt's Athena manifest names them."""

    room_series: str  # model fct_room_temperature_series
    anomaly_scores: str  # source ml_scores.anomaly_scores

    @classmethod
    def from_manifest(cls, manifest: Path) -> AwsRelations:

        relations = Relations.from_manifest(manifest, adapter="athena")
        return cls(
            room_series=relations.model("fct_room_temperature_series"),
            anomaly_scores=relations.source("ml_scores", "anomaly_scores"),
        )


def state_name(step_name: str) -> str:
    """``import_history_files`` -> ``ImportHistoryFiles``."""
    return "".join(part.capitalize() for part in step_name.split("_"))


def _task(resource: str, parameters: dict[str, Any], **extra: Any) -> State:
    return {
        "Type": "Task",
        "Resource": resource,
        "Parameters": parameters,
        "ResultPath": None,
        "Retry": [RETRY],
        **extra,
    }


def _catch() -> list[dict[str, Any]]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": NOTIFY_FAILURE}]


def _ecs_task(command: list[str], environment: list[dict[str, str]] | None = None) -> State:
    override: dict[str, Any] = {"Name": CONTAINER, "Command": command}
    if environment:
        override["Environment"] = environment
    return _task(
        "arn:aws:states:::ecs:runTask.sync",
        {
            "Cluster": "${EcsClusterArn}",
            "TaskDefinition": "${TaskDefinitionArn}",
            "LaunchType": "FARGATE",
            "NetworkConfiguration": {
                "AwsvpcConfiguration": {
                    "Subnets": ["${SubnetId}"],
                    "SecurityGroups": ["${SecurityGroupId}"],
                    "AssignPublicIp": "DISABLED",
                }
            },
            "Overrides": {"ContainerOverrides": [override]},
        },
    )


def _athena(query_path: str, *args: str) -> State:
    """An Athena query whose text is a template in the state input, filled per run or room."""
    query = f"States.Format({', '.join((query_path, *args))})" if args else query_path
    return _task(
        "arn:aws:states:::athena:startQueryExecution.sync",
        {"QueryString.$": query, "WorkGroup": "${AthenaWorkGroup}"},
    )


def _training_parameters(job: str) -> dict[str, Any]:
    """ml.sagemaker's CreateTrainingJob request (the one the local SageMaker path sends), with the
    per-execution values as paths and the stack's values as ${} placeholders."""
    stack = SageMakerConfig(
        role_arn="arn:placeholder",  # replaced below: the stack's role parameter
        s3_prefix="s3://${LakeBucket}/ml",
        region="",
        training_instance_type="${TrainingInstanceType}",
        image_uri="${RcfImageUri}",
    )
    request = training_job_request(
        "", "", "s3://${LakeBucket}/ml/jobs/training/", RcfConfig(), stack
    )
    del request["TrainingJobName"], request["HyperParameters"]
    (channel,) = request["InputDataConfig"]
    del channel["DataSource"]["S3DataSource"]["S3Uri"]
    channel["DataSource"]["S3DataSource"]["S3Uri.$"] = _job_uri("ml/export/{}/train/")
    return {
        "TrainingJobName.$": job,
        **request,
        "RoleArn": "${SageMakerRoleArn}",
        "HyperParameters.$": "$.config.rcf_hyperparameters",
    }


def _job_uri(key: str) -> str:
    """An S3 URI in the lake bucket with the room attempt's job id for ``{}``."""
    return f"States.Format('s3://${{LakeBucket}}/{key}', $.job)"


# --- renderers: one per step kind -------------------------------------------------------------


def _import_state(step: Step) -> State:
    if step.name == "extract_database":
        # The existing Glue JDBC job (ingestion/glue/extract_jdbc_to_raw.py) with its bookmark.
        return _task(
            "arn:aws:states:::glue:startJobRun.sync",
            {"JobName": "${GlueJobName}"},
        )
    source = {
        "import_history_files": "${HistorySourceUri}",
        "import_seismic_files": "${SeismicSourceUri}",
    }.get(step.name)
    if source is None:
        raise ValueError(f"no AWS source is known for import step {step.name}")
    # The same CLI verb as locally (it reads s3:// sources), its lake synced with the bucket.
    return _ecs_task(["python", "-m", "orchestration.aws_import", step.command[0], source])


def _dbt_state(step: Step) -> State:
    # The dbt arguments come from the execution input ($.config.<step>, defaulting to the
    # pipeline's); the wrapper saves run_results.json and a retried attempt runs `dbt retry`.
    return _ecs_task(
        ["python", "-m", "orchestration.aws_dbt", step.name],
        [
            {"Name": "EVENTLAKE_DBT_ARGS", "Value.$": f"States.JsonToString($.config.{step.name})"},
            {"Name": "EVENTLAKE_RUN_ID", "Value.$": "$$.Execution.Name"},
        ],
    )


# A room id in the Athena templates: a quoted literal. Not base64 (States.Base64Encode), which
# takes ASCII only and would fail a room named "Küche"; a room id holding a single quote breaks
# its room's statements instead (the stack's Rooms pattern admits none).
ROOM_SQL = "'{}'"
ROOM_ARG = "$.room_id"


def _room_states(steps: list[Step]) -> tuple[str, dict[str, State]]:
    """The Map iteration: one room's export, training, model, batch transform and landing."""
    names = {s.name for s in steps}
    missing = {"ml_export", "ml_train", "ml_score"} - names
    if missing or names - {"ml_export", "ml_train", "ml_score"}:
        raise ValueError(f"the per-room steps must be ml_export, ml_train, ml_score; got {names}")
    job = "$.job"
    states: dict[str, State] = {
        # One id per room and attempt: SageMaker names and UNLOAD folders must be new each time.
        "PlanRoom": {
            "Type": "Pass",
            "Parameters": {
                "room_id.$": "$.room_id",
                "config.$": "$.config",
                "sql.$": "$.sql",
                "job.$": f"States.Format('{SAGEMAKER_JOB_PREFIX}{{}}', States.UUID())",
            },
            "Next": "ExportFeatures",
        },
        # ml_export: the training CSV and the keyed transform input, from the warehouse.
        "ExportFeatures": {
            **_athena("$.sql.export_features", ROOM_ARG, job),
            "Next": "ExportScoringInput",
        },
        "ExportScoringInput": {
            **_athena("$.sql.export_scoring_input", ROOM_ARG, job),
            "Next": "TrainModel",
        },
        # ml_train: SageMaker's built-in RCF, 50 trees x 512 samples, feature_dim = shingle size.
        "TrainModel": {
            **_task("arn:aws:states:::sagemaker:createTrainingJob.sync", _training_parameters(job)),
            "Next": "CreateModel",
        },
        # SageMaker's layout: <OutputPath>/<job>/output/model.tar.gz (no need for .sync's output).
        "CreateModel": {
            **_task(
                "arn:aws:states:::sagemaker:createModel",
                {
                    "ModelName.$": job,
                    "PrimaryContainer": {
                        "Image": "${RcfImageUri}",
                        "ModelDataUrl.$": _job_uri("ml/jobs/training/{}/output/model.tar.gz"),
                    },
                    "ExecutionRoleArn": "${SageMakerRoleArn}",
                    "Tags": [{"Key": "project", "Value": "eventlake"}],
                },
            ),
            "Next": "ScoreReadings",
        },
        # ml_score: batch transform; keys in, score out, joined per line by SageMaker itself.
        "ScoreReadings": {
            **_task(
                "arn:aws:states:::sagemaker:createTransformJob.sync",
                {
                    "TransformJobName.$": job,
                    "ModelName.$": job,
                    "BatchStrategy": "MultiRecord",
                    "MaxPayloadInMB": 6,
                    "TransformInput": {
                        "DataSource": {
                            "S3DataSource": {
                                "S3DataType": "S3Prefix",
                                "S3Uri.$": _job_uri("ml/export/{}/score/"),
                            }
                        },
                        "ContentType": "text/csv",
                        "SplitType": "Line",
                        "CompressionType": "None",
                    },
                    # RCF answers JSON Lines ({"score": x}); SageMaker appends each answer
                    # to its CSV input row, so the keys travel with the score.
                    "TransformOutput": {
                        "S3OutputPath.$": _job_uri("ml/transform/job={}/"),
                        "Accept": "application/jsonlines",
                        "AssembleWith": "Line",
                    },
                    "DataProcessing": {"InputFilter": "$[3:]", "JoinSource": "Input"},
                    "TransformResources": {
                        "InstanceType": "${TransformInstanceType}",
                        "InstanceCount": 1,
                    },
                    "Tags": [{"Key": "project", "Value": "eventlake"}],
                },
            ),
            "Next": "LandScores",
        },
        # Scores into the ml_scores source's table: INSERT INTO registers the partitions it
        # writes in the Glue catalog; readings already scored are not inserted twice.
        "LandScores": {
            **_athena("$.sql.land_scores", job, job, ROOM_ARG),
            "End": True,
        },
    }
    return "PlanRoom", states


def land_scores_sql(relations: AwsRelations, config: RcfConfig, transform_table: str) -> str:
    """INSERT of one transform job's scores (``'{}'`` = job, then room) into the scores table.

    The threshold is the seed's: mean + ``threshold_sigmas`` x std of the room's scores in this
    job (the local path takes them over the training points, which are the same readings).
    """
    return f"""insert into {relations.anomaly_scores}
with joined as (
    -- one output line per input row: reading_id,reading_at,temperature_c,f1..fk, then the
    -- model's answer; the score is the line's last number, whatever wraps it
    select
        split(line, ',') as field,
        cast(regexp_extract(line, '(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)[^0-9]*$', 1) as double)
            as anomaly_score
    from {transform_table}
    where job = '{{}}'
),
scored as (
    select
        field[1] as reading_id,
        cast(field[2] as timestamp) as reading_at,
        cast(field[3] as double) as temperature_c,
        anomaly_score,
        avg(anomaly_score) over () + {config.threshold_sigmas} * stddev_pop(anomaly_score) over ()
            as score_threshold
    from joined
)
select
    s.reading_id,
    s.reading_at,
    s.temperature_c,
    s.anomaly_score,
    s.score_threshold,
    s.anomaly_score > s.score_threshold as is_anomaly,
    '{{}}' as model_version,
    -- the training job ended minutes ago in this same room iteration; its exact end time is
    -- not carried through the state machine
    cast(current_timestamp as timestamp) as trained_at,
    'sagemaker' as engine,
    cast(current_timestamp as timestamp) as landed_at,
    r.room_id,
    cast(s.reading_at as date) as reading_date
from scored as s
cross join (select {ROOM_SQL} as room_id) as r
where not exists (
    select 1 from {relations.anomaly_scores} as landed
    where landed.room_id = r.room_id and landed.reading_id = s.reading_id
)"""


# --- the whole definition ---------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    definition: dict[str, Any]
    step_states: dict[str, list[str]]  # pipeline step -> the states that carry it out


def defaults(config: RcfConfig) -> dict[str, Any]:
    """The execution's configuration; the execution input overrides any top-level key."""
    return {
        # A comma list from the stack's Rooms parameter (its pattern admits no quote).
        "rooms.$": "States.StringSplit('${Rooms}', ',')",
        "force": False,
        **{s.name: list(s.command) for s in PIPELINE if s.kind == "dbt"},
        "rcf_hyperparameters": config.hyperparameters(),
    }


def queries(relations: AwsRelations, config: RcfConfig, transform_table: str) -> dict[str, str]:
    """The Athena templates of the per-room states. Kept beside the configuration, not in it:
    the execution input cannot replace them (it could run any SQL with the pipeline's role)."""
    export = "s3://${LakeBucket}/ml/export/{}/"
    return {
        "export_features": unload_features_sql(
            relations.room_series, ROOM_SQL, config, export + "train/"
        ),
        "export_scoring_input": unload_features_sql(
            relations.room_series, ROOM_SQL, config, export + "score/", with_keys=True
        ),
        "land_scores": land_scores_sql(relations, config, transform_table),
    }


def render(
    relations: AwsRelations,
    config: RcfConfig | None = None,
    transform_table: str = '"${GlueDatabase}"."rcf_transform_output"',
    pipeline: tuple[Step, ...] = PIPELINE,
) -> Rendered:
    """The state machine for ``pipeline`` (placeholders unfilled; see :func:`substitute`)."""
    config = config or RcfConfig()
    states: dict[str, State] = {}
    step_states: dict[str, list[str]] = {}
    order: list[str] = []  # top-level states in pipeline order, linked below

    def add(name: str, state: State, *steps: Step) -> None:
        states[name] = state
        order.append(name)
        for s in steps:
            step_states.setdefault(s.name, []).append(name)

    states["Configure"] = {
        "Type": "Pass",
        "Parameters": {
            "defaults": defaults(config),
            "sql": queries(relations, config, transform_table),
            "input.$": "$$.Execution.Input",
        },
        "Next": "MergeInput",
    }
    states["MergeInput"] = {
        "Type": "Pass",
        "Parameters": {
            "config.$": "States.JsonMerge($.defaults, $.input, false)",
            "sql.$": "$.sql",
            "execution.$": "$$.Execution.Id",  # the gate's answer must be for this execution
        },
    }
    order.append("MergeInput")

    i = 0
    while i < len(pipeline):
        step = pipeline[i]
        if step.parallel_group:
            group = [s for s in pipeline[i:] if s.parallel_group == step.parallel_group]
            branches = []
            for s in group:
                if s.kind != "import":
                    raise ValueError(f"no AWS renderer for parallel step {s.name} ({s.kind})")
                name = state_name(s.name)
                branches.append(
                    {"StartAt": name, "States": {name: {**_import_state(s), "End": True}}}
                )
                step_states[s.name] = [name]
            add(
                state_name(step.parallel_group),
                {"Type": "Parallel", "Branches": branches, "ResultPath": None, "Catch": _catch()},
            )
            i += len(group)
            continue
        if step.per_room:
            group = [s for s in pipeline[i:] if s.per_room]
            start, room_states = _room_states(group)
            add(
                "ScoreRooms",
                {
                    "Type": "Map",
                    "ItemsPath": "$.config.rooms",
                    "ItemSelector": {
                        "room_id.$": "$$.Map.Item.Value",
                        "config.$": "$.config",
                        "sql.$": "$.sql",
                    },
                    "MaxConcurrency": 4,
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "INLINE"},
                        "StartAt": start,
                        "States": room_states,
                    },
                    "ResultPath": None,
                    "Catch": _catch(),
                },
            )
            step_states.update(
                {
                    "ml_export": ["ScoreRooms", "PlanRoom", "ExportFeatures", "ExportScoringInput"],
                    "ml_train": ["ScoreRooms", "TrainModel", "CreateModel"],
                    "ml_score": ["ScoreRooms", "ScoreReadings", "LandScores"],
                }
            )
            i += len(group)
            continue
        if step.name in LOCAL_ONLY:
            i += 1
            continue
        renderer = _RENDERERS.get(step.kind)
        if renderer is None:
            raise ValueError(
                f"pipeline step {step.name} ({step.kind}) has no AWS rendering; add one to"
                " orchestration/asl.py or a reason to LOCAL_ONLY"
            )
        for name, state in renderer(step):
            add(name, {**state, "Catch": _catch()} if state["Type"] == "Task" else state, step)
        i += 1

    # Link the top-level states in order; the Choice jumps over the rest when nothing is new.
    for current, following in itertools.pairwise(order):
        if states[current]["Type"] != "Choice":
            states[current]["Next"] = following
        else:
            states[current]["Default"] = following
    states[order[-1]]["End"] = True
    states.update(_closing_states())
    return Rendered(
        {
            "Comment": "eventlake: the pipeline of orchestration/pipeline.py, rendered by"
            " orchestration/asl.py",
            "StartAt": "Configure",
            "States": states,
        },
        step_states,
    )


def _gate_states(step: Step) -> list[tuple[str, State]]:
    """Ask the gate container, read its answer, skip the rest when no new raw object landed."""
    return [
        (
            "CheckNewData",
            _ecs_task(
                ["python", "-m", "orchestration.aws_gate", "check"],
                [{"Name": "EVENTLAKE_EXECUTION_ARN", "Value.$": "$$.Execution.Id"}],
            ),
        ),
        (
            "ReadGateAnswer",
            _task(
                "arn:aws:states:::aws-sdk:ssm:getParameter",
                {"Name": "${GateParameter}"},
                ResultSelector={"answer.$": "States.StringToJson($.Parameter.Value)"},
                ResultPath="$.gate",
            ),
        ),
        (
            "NewRawData",
            {
                "Type": "Choice",
                "Choices": [
                    {
                        # an older run still running, or an answer another execution wrote
                        # (orchestration/aws_gate.py): stand down, whatever `force` says
                        "Or": [
                            {"Variable": "$.gate.answer.running", "IsPresent": False},
                            {"Variable": "$.gate.answer.execution", "IsPresent": False},
                            {"Not": {"Variable": "$.gate.answer.running", "StringEquals": ""}},
                            {
                                "Not": {
                                    "Variable": "$.gate.answer.execution",
                                    "StringEqualsPath": "$.execution",
                                }
                            },
                        ],
                        "Next": "NotifyRunInProgress",
                    },
                    {
                        "And": [
                            {"Variable": "$.gate.answer.new_data", "BooleanEquals": False},
                            {"Variable": "$.config.force", "BooleanEquals": False},
                        ],
                        "Next": "NotifyNoNewData",
                    },
                ],
            },
        ),
    ]


def _summary_states(step: Step) -> list[tuple[str, State]]:
    """Record the raw listing this run covered (the next gate compares with it), then notify."""
    return [
        (
            "RecordWatermark",
            _task(
                "arn:aws:states:::aws-sdk:ssm:putParameter",
                {
                    "Name": "${WatermarkParameter}",
                    "Value.$": "$.gate.answer.watermark",
                    "Type": "String",
                    "Overwrite": True,
                },
            ),
        ),
        (
            "NotifySuccess",
            _task(
                "arn:aws:states:::sns:publish",
                {
                    "TopicArn": "${TopicArn}",
                    "Subject": "eventlake run succeeded",
                    "Message.$": "States.Format('eventlake run {} succeeded: {} new raw objects"
                    " since {}; rooms scored: {}', $$.Execution.Name,"
                    " $.gate.answer.new_objects, $.gate.answer.previous,"
                    " States.JsonToString($.config.rooms))",
                },
            ),
        ),
    ]


def _closing_states() -> dict[str, State]:
    return {
        "NotifyNoNewData": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {
                "TopicArn": "${TopicArn}",
                "Subject": "eventlake run skipped",
                "Message.$": "States.Format('eventlake run {}: no new raw object since {};"
                " nothing to do', $$.Execution.Name, $.gate.answer.previous)",
            },
            "ResultPath": None,
            "Retry": [RETRY],
            "Catch": _catch(),
            "Next": "NoNewData",
        },
        "NoNewData": {"Type": "Succeed"},
        "NotifyRunInProgress": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {
                "TopicArn": "${TopicArn}",
                "Subject": "eventlake run skipped",
                "Message.$": "States.Format('eventlake run {} stood down: another run of the"
                " pipeline is in progress (the next scheduled run picks up what landed);"
                " gate answer: {}', $$.Execution.Name, States.JsonToString($.gate.answer))",
            },
            "ResultPath": None,
            "Retry": [RETRY],
            "Catch": _catch(),
            "Next": "RunInProgress",
        },
        "RunInProgress": {"Type": "Succeed"},
        NOTIFY_FAILURE: {
            "Type": "Task",
            "Resource": "arn:aws:states:::sns:publish",
            "Parameters": {
                "TopicArn": "${TopicArn}",
                "Subject": "eventlake run failed",
                "Message.$": "States.Format('eventlake run {} failed: {}: {}', $$.Execution.Name,"
                " $.error.Error, $.error.Cause)",
            },
            "ResultPath": None,
            "Retry": [RETRY],
            "Next": FAILED,
        },
        FAILED: {"Type": "Fail", "Error": "EventlakeRunFailed", "Cause": "see the SNS message"},
    }


def _dbt_states(step: Step) -> list[tuple[str, State]]:
    return [(state_name(step.name), _dbt_state(step))]


_RENDERERS: dict[str, Callable[[Step], list[tuple[str, State]]]] = {
    "gate": _gate_states,
    "dbt": _dbt_states,
    "summary": _summary_states,
}


# --- placeholders ---------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def placeholders(definition: Mapping[str, Any]) -> set[str]:
    return set(PLACEHOLDER.findall(json.dumps(definition)))


def substitute(definition: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Fill ``${Name}`` placeholders as CloudFormation's DefinitionSubstitutions does.

    Values are strings, as in CloudFormation. A missing value is an error, so a test cannot run
    a definition with a hole in it.
    """
    missing = placeholders(definition) - set(values)
    if missing:
        raise ValueError(f"no value for placeholders {sorted(missing)}")
    text = json.dumps(definition)
    for name, value in values.items():
        text = text.replace(f"${{{name}}}", json.dumps(str(value))[1:-1])
    return json.loads(text)
