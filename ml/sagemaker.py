"""SageMaker's built-in Random Cut Forest through plain boto3: training job, model, batch transform.

Why boto3 and not the sagemaker SDK 2.x ``RandomCutForest`` estimator: the SDK would add 29
packages to the lock (pandas, fastapi, uvicorn, docker, graphene, ...) and downgrade ``packaging``,
``attrs`` and ``importlib-metadata`` that dbt shares; its estimator uploads RecordIO-protobuf via
``record_set`` rather than the seed's CSV; and everything it would do for us here is three API
calls plus the image URI, whose per-region registry accounts are public (``RCF_REGISTRIES``,
copied from the SDK's ``image_uri_config/randomcutforest.json``). SDK 3.x has no RCF class.

Request builders are pure functions (tested for their shape); ``SageMakerRcf`` sends them and
waits. Names are derived from the model version, so re-running a step finds the finished job
instead of paying for a second one.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from botocore.exceptions import WaiterError

from ml.config import RcfConfig, SageMakerConfig

# Account of the built-in algorithm registry per region (image randomcutforest:1).
RCF_REGISTRIES = {
    "af-south-1": "455444449433",
    "ap-east-1": "286214385809",
    "ap-northeast-1": "351501993468",
    "ap-northeast-2": "835164637446",
    "ap-northeast-3": "867004704886",
    "ap-south-1": "991648021394",
    "ap-south-2": "628508329040",
    "ap-southeast-1": "475088953585",
    "ap-southeast-2": "712309505854",
    "ap-southeast-3": "951798379941",
    "ap-southeast-4": "106583098589",
    "ca-central-1": "469771592824",
    "ca-west-1": "190319476487",
    "cn-north-1": "390948362332",
    "cn-northwest-1": "387376663083",
    "eu-central-1": "664544806723",
    "eu-central-2": "680994064768",
    "eu-north-1": "669576153137",
    "eu-south-1": "257386234256",
    "eu-south-2": "104374241257",
    "eu-west-1": "438346466558",
    "eu-west-2": "644912444149",
    "eu-west-3": "749696950732",
    "il-central-1": "898809789911",
    "me-central-1": "272398656194",
    "me-south-1": "249704162688",
    "sa-east-1": "855470959533",
    "us-east-1": "382416733822",
    "us-east-2": "404615174143",
    "us-gov-east-1": "237065988967",
    "us-gov-west-1": "226302683700",
    "us-west-1": "632365934929",
    "us-west-2": "174872318107",
}
TRAINING_CONTENT_TYPE = "text/csv;label_size=0"
NAME_LIMIT = 63


def rcf_image_uri(region: str) -> str:
    """The region's built-in RCF image (training and inference use the same one)."""
    try:
        account = RCF_REGISTRIES[region]
    except KeyError:
        raise ValueError(
            f"no built-in RCF registry known for region {region!r}; "
            "set EVENTLAKE_SAGEMAKER_IMAGE_URI to the image for that region"
        ) from None
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{account}.dkr.ecr.{region}.{domain}/randomcutforest:1"


def job_name(room_id: str, model_version: str, kind: str = "") -> str:
    """``eventlake-rcf-<room>-<version>[-<kind>]``: unique per model, within SageMaker's 63."""
    room = "".join(c if c.isalnum() else "-" for c in room_id.lower())
    name = f"eventlake-rcf-{room}-{model_version}" + (f"-{kind}" if kind else "")
    if len(name) > NAME_LIMIT:
        raise ValueError(f"job name {name!r} is over {NAME_LIMIT} characters; shorten the room id")
    return name


def training_job_request(
    name: str, training_uri: str, output_uri: str, rcf: RcfConfig, sm: SageMakerConfig
) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": sm.image_uri or rcf_image_uri(sm.region),
            "TrainingInputMode": "File",
        },
        "RoleArn": sm.role_arn,
        "HyperParameters": rcf.hyperparameters(),
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": training_uri,
                        # RCF wants every instance to see its own shard of the training data.
                        "S3DataDistributionType": "ShardedByS3Key",
                    }
                },
                "ContentType": TRAINING_CONTENT_TYPE,
                "CompressionType": "None",
                "InputMode": "File",
            }
        ],
        "OutputDataConfig": {"S3OutputPath": output_uri},
        "ResourceConfig": {
            "InstanceType": sm.training_instance_type,
            "InstanceCount": sm.instance_count,
            "VolumeSizeInGB": sm.volume_size_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": sm.max_runtime_seconds},
        "Tags": [{"Key": k, "Value": v} for k, v in sorted(sm.tags.items())],
    }


def model_request(name: str, model_data_url: str, sm: SageMakerConfig) -> dict[str, Any]:
    return {
        "ModelName": name,
        "PrimaryContainer": {
            "Image": sm.image_uri or rcf_image_uri(sm.region),
            "ModelDataUrl": model_data_url,
        },
        "ExecutionRoleArn": sm.role_arn,
        "Tags": [{"Key": k, "Value": v} for k, v in sorted(sm.tags.items())],
    }


def transform_job_request(
    name: str, model_name: str, input_uri: str, output_uri: str, sm: SageMakerConfig
) -> dict[str, Any]:
    return {
        "TransformJobName": name,
        "ModelName": model_name,
        "BatchStrategy": "MultiRecord",
        "MaxPayloadInMB": 6,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            "ContentType": "text/csv",
            "CompressionType": "None",
            "SplitType": "Line",
        },
        # One JSON object per input line, in input order: {"score": 1.23}.
        "TransformOutput": {
            "S3OutputPath": output_uri,
            "Accept": "application/jsonlines",
            "AssembleWith": "Line",
        },
        "TransformResources": {
            "InstanceType": sm.transform_instance_type,
            "InstanceCount": sm.instance_count,
        },
        "Tags": [{"Key": k, "Value": v} for k, v in sorted(sm.tags.items())],
    }


def parse_transform_output(text: str, expected: int | None = None) -> np.ndarray:
    """Scores from batch-transform output: one per line, ``{"score": x}`` JSON lines or bare CSV.

    Also accepts the JSON response shape ``{"scores": [{"score": x}, ...]}`` on a line. Fails
    loudly when the count differs from the lines sent, since scores join back by position.
    """
    scores: list[float] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            if line.startswith("{"):
                value = json.loads(line)
                if "scores" in value:
                    scores.extend(float(item["score"]) for item in value["scores"])
                else:
                    scores.append(float(value["score"]))
            else:
                scores.append(float(line.split(",")[0]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"batch-transform output line {number} is not a score: {line[:80]!r}"
            ) from exc
    result = np.asarray(scores, dtype=np.float64)
    if expected is not None and result.size != expected:
        raise ValueError(
            f"batch transform returned {result.size} scores for {expected} input lines; "
            "check the job's input split (SplitType Line) and AssembleWith Line"
        )
    return result


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


@dataclass
class SageMakerRcf:
    """Runs one room's training and transform jobs and waits for them; boto3 clients injected."""

    sm: SageMakerConfig
    rcf: RcfConfig
    sagemaker: Any  # boto3 SageMaker client
    s3: Any  # boto3 S3 client
    waiter_delay: int = 30

    def upload(self, uri: str, body: bytes) -> None:
        bucket, key = _split_s3(uri)
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)

    def _wait(self, kind: str, name: str) -> dict[str, Any]:
        waiter = self.sagemaker.get_waiter(f"{kind}_job_completed_or_stopped")
        arg = "TrainingJobName" if kind == "training" else "TransformJobName"
        # A failed or timed-out job ends the wait; its description below says why.
        with contextlib.suppress(WaiterError):
            waiter.wait(
                **{arg: name}, WaiterConfig={"Delay": self.waiter_delay, "MaxAttempts": 240}
            )
        describe = getattr(self.sagemaker, f"describe_{kind}_job")(**{arg: name})
        status = describe[f"{kind.capitalize()}JobStatus"]
        if status != "Completed":
            reason = describe.get("FailureReason", "still running; wait for it and re-run")
            raise RuntimeError(f"SageMaker {kind} job {name} ended {status}: {reason}")
        return describe

    def _exists(self, kind: str, name: str) -> bool:
        arg = "TrainingJobName" if kind == "training" else "TransformJobName"
        try:
            getattr(self.sagemaker, f"describe_{kind}_job")(**{arg: name})
        except self.sagemaker.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] in ("ValidationException", "ResourceNotFound"):
                return False
            raise
        return True

    def data_uri(self, room_id: str, data_fingerprint: str) -> str:
        return self.sm.uri("export", f"room_id={room_id}", data_fingerprint, "features.csv")

    def train(
        self, room_id: str, model_version: str, data_fingerprint: str, features_csv: bytes
    ) -> dict[str, Any]:
        """Train (or find the finished job of) this room's model and register it as a model."""
        name = job_name(room_id, model_version)
        data_uri = self.data_uri(room_id, data_fingerprint)
        if not self._exists("training", name):
            self.upload(data_uri, features_csv)
            self.sagemaker.create_training_job(
                **training_job_request(
                    name, data_uri, self.sm.uri("jobs", "training"), self.rcf, self.sm
                )
            )
        described = self._wait("training", name)
        model_data_url = described["ModelArtifacts"]["S3ModelArtifacts"]
        self.sagemaker.create_model(**model_request(name, model_data_url, self.sm))
        return {
            "training_job": name,
            "model_name": name,
            "model_data_url": model_data_url,
            "training_data_uri": data_uri,
            "trained_at": described["TrainingEndTime"],
        }

    def score(
        self,
        room_id: str,
        model_version: str,
        data_fingerprint: str,
        features_csv: bytes,
        expected: int,
    ) -> np.ndarray:
        """Batch-score a room's CSV with its model (by batch transform); scores in input order."""
        model_name = job_name(room_id, model_version)
        input_uri = self.data_uri(room_id, data_fingerprint)
        job = job_name(room_id, f"{model_version}-{data_fingerprint[:8]}")
        output_uri = self.sm.uri("jobs", "transform", job)
        if not self._exists("transform", job):
            self.upload(input_uri, features_csv)
            self.sagemaker.create_transform_job(
                **transform_job_request(job, model_name, input_uri, output_uri, self.sm)
            )
        self._wait("transform", job)
        bucket, key = _split_s3(f"{output_uri}/features.csv.out")
        body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        return parse_transform_output(body, expected)
