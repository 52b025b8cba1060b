"""Random Cut Forest steps: shingling, thresholds, the local scorer, landing scores, SageMaker."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import boto3
import numpy as np
import pyarrow.parquet as pq
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from ml.config import RcfConfig, SageMakerConfig
from ml.features import RoomSeries, build_dataset, shingle
from ml.local_rcf import (
    load_forest,
    save_forest,
    score_points,
    threshold_from_scores,
    train_forest,
)
from ml.results import ScoredRoom, land_scores, scores_root
from ml.sagemaker import (
    SageMakerRcf,
    job_name,
    parse_transform_output,
    rcf_image_uri,
)

# --- shingling and export -------------------------------------------------------------------


def test_shingle_takes_the_last_k_readings_oldest_first() -> None:
    values = np.arange(6, dtype=float)
    features, rows = shingle(values, np.full(6, 60.0), 3, 900)
    assert rows.tolist() == [2, 3, 4, 5]
    assert features.tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]]


def test_shingle_never_spans_a_long_gap() -> None:
    values = np.arange(8, dtype=float)
    gaps = np.array([np.nan, 60, 60, 60, 3_600, 60, 60, 60])  # reading 4 comes after an hour
    features, rows = shingle(values, gaps, 3, 900)
    assert rows.tolist() == [2, 3, 6, 7]  # 4 and 5 would need readings from before the gap
    assert features[2].tolist() == [4, 5, 6]
    short, _ = shingle(values, np.where(np.isnan(gaps), np.nan, 300.0), 3, 900)
    assert len(short) == 6  # short dropouts (5 min) keep the window going


def test_shingle_of_one_scores_every_reading_and_short_series_none() -> None:
    features, rows = shingle(np.array([1.0, 2.0]), np.array([np.nan, 60.0]), 1, 900)
    assert rows.tolist() == [0, 1] and features.shape == (2, 1)
    features, rows = shingle(np.array([1.0, 2.0]), np.array([np.nan, 60.0]), 3, 900)
    assert features.shape == (0, 3) and rows.size == 0
    with pytest.raises(ValueError, match="equal length"):
        shingle(np.zeros(3), np.zeros(2), 1, 900)


def _series(values: np.ndarray, room: str = "A101", cadence: int = 60) -> RoomSeries:
    start = np.datetime64("2026-03-01T00:00:00", "us")
    at = start + np.arange(values.size) * np.timedelta64(cadence, "s")
    gaps = np.full(values.size, float(cadence))
    gaps[0] = np.nan
    ids = np.array([f"{room}-{i}" for i in range(values.size)], dtype=object)
    return RoomSeries(room, ids, at, values.astype(float), gaps)


def test_export_csv_is_sagemakers_input_and_rows_line_up() -> None:
    dataset = build_dataset(_series(np.array([20.0, 20.5, 21.25, 21.0])), RcfConfig(shingle_size=2))
    lines = dataset.features_csv().decode().splitlines()
    assert lines == ["20.0000,20.5000", "20.5000,21.2500", "21.2500,21.0000"]  # no header/label
    rows = dataset.rows_csv().decode().splitlines()
    assert rows[0] == "reading_id,reading_at,temperature_c"
    assert rows[1:] == [
        "A101-1,2026-03-01 00:01:00,20.5",
        "A101-2,2026-03-01 00:02:00,21.25",
        "A101-3,2026-03-01 00:03:00,21.0",
    ]
    assert (
        dataset.fingerprint()
        == build_dataset(dataset.series, RcfConfig(shingle_size=2)).fingerprint()
    )
    assert dataset.fingerprint() != build_dataset(dataset.series, RcfConfig()).fingerprint()


# --- threshold and the scorer ---------------------------------------------------------------


def test_threshold_is_mean_plus_sigmas_or_a_quantile() -> None:
    scores = np.array([1.0, 2.0, 3.0, 4.0])
    assert threshold_from_scores(scores, RcfConfig()) == pytest.approx(2.5 + 3 * scores.std())
    assert threshold_from_scores(scores, RcfConfig(threshold_sigmas=1)) == pytest.approx(
        2.5 + scores.std()
    )
    assert threshold_from_scores(scores, RcfConfig(threshold_quantile=0.5)) == pytest.approx(2.5)
    with pytest.raises(ValueError, match="no training scores"):
        threshold_from_scores(np.array([]), RcfConfig())


def _daily_series(n: int = 6_000, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    minutes = np.arange(n)
    return 21 + 2 * np.cos(2 * np.pi * minutes / 1_440) + rng.normal(0, 0.1, n)


@pytest.mark.parametrize("shingle_size", [1, 4])
def test_scorer_flags_an_injected_spike_and_not_normal_readings(shingle_size: int) -> None:
    values = _daily_series()
    spike = 4_000
    values[spike] += 9.0
    config = RcfConfig(shingle_size=shingle_size, num_trees=30, num_samples_per_tree=256)
    dataset = build_dataset(_series(values), config)
    forest = train_forest(dataset.features, config)
    scores = score_points(forest, dataset.features)
    flags = scores > threshold_from_scores(scores, config)
    at_spike = np.flatnonzero(dataset.rows == spike)[0]
    near = np.abs(dataset.rows - spike) < shingle_size  # windows that contain the spike
    assert flags[at_spike]
    assert scores[at_spike] > scores[~near].max()  # clearly above every normal reading
    # mean + 3 sd leaves a thin tail of normal readings above it (the daily extremes)
    assert flags[~near].mean() < 0.03


def test_a_saved_forest_scores_exactly_as_the_trained_one() -> None:
    config = RcfConfig(num_trees=10, num_samples_per_tree=64)
    features = _daily_series(500).reshape(-1, 1)
    forest = train_forest(features, config)
    restored = load_forest(save_forest(forest))
    assert np.array_equal(score_points(forest, features), score_points(restored, features))
    with pytest.raises(ValueError, match="shingle size"):
        score_points(restored, np.zeros((3, 2)))


def test_config_reads_the_environment_and_rejects_nonsense() -> None:
    config = RcfConfig.from_env({"EVENTLAKE_RCF_SHINGLE_SIZE": "4", "EVENTLAKE_RCF_NUM_TREES": ""})
    assert (config.shingle_size, config.num_trees, config.num_samples_per_tree) == (4, 50, 512)
    assert config.hyperparameters() == {
        "feature_dim": "4",
        "num_samples_per_tree": "512",
        "num_trees": "50",
    }
    with pytest.raises(ValueError, match="EVENTLAKE_RCF_NUM_TREES"):
        RcfConfig.from_env({"EVENTLAKE_RCF_NUM_TREES": "many"})
    with pytest.raises(ValueError, match="2048"):
        RcfConfig(num_samples_per_tree=4096)
    with pytest.raises(ValueError, match="EVENTLAKE_SAGEMAKER_ROLE_ARN"):
        SageMakerConfig.from_env({"AWS_REGION": "eu-west-1"})


# --- landing scores -------------------------------------------------------------------------


def _scored(version: str, days: int = 2, threshold: float = 1.5) -> ScoredRoom:
    n = days * 1_440
    start = np.datetime64("2026-03-01T00:00:00", "us")
    scores = np.ones(n)
    scores[100] = 3.0
    return ScoredRoom(
        room_id="A101",
        reading_ids=np.array([f"r{i}" for i in range(n)], dtype=object),
        reading_at=start + np.arange(n) * np.timedelta64(60, "s"),
        temperature_c=np.full(n, 21.0),
        scores=scores,
        threshold=threshold,
        model_version=version,
        trained_at=datetime(2026, 3, 3, tzinfo=UTC),
        engine="local",
        data_fingerprint=f"data-{days}",
    )


def _landed_rows(root) -> list[tuple]:
    import duckdb

    glob = scores_root(root) / "room_id=*" / "reading_date=*" / "*.parquet"
    return duckdb.sql(
        f"select room_id, reading_id, model_version, is_anomaly from read_parquet('{glob}',"
        " hive_partitioning = true) order by reading_id"
    ).fetchall()


def test_landing_writes_one_partition_per_room_and_date(tmp_path) -> None:
    report = land_scores(_scored("v1"), tmp_path, datetime(2026, 3, 3, 1, tzinfo=UTC))
    assert (report.partitions_written, report.skipped) == (2, False)
    parts = sorted(
        p.relative_to(scores_root(tmp_path)).as_posix()
        for p in scores_root(tmp_path).rglob("*.parquet")
    )
    assert parts == [
        "room_id=A101/reading_date=2026-03-01/part-0.parquet",
        "room_id=A101/reading_date=2026-03-02/part-0.parquet",
    ]
    rows = _landed_rows(tmp_path)
    assert len(rows) == 2_880 and sum(r[3] for r in rows) == 1
    assert "room_id" not in pq.read_schema(scores_root(tmp_path) / parts[0]).names


def test_rescoring_replaces_never_duplicates_and_same_model_is_skipped(tmp_path) -> None:
    land_scores(_scored("v1", days=2), tmp_path, datetime(2026, 3, 3, tzinfo=UTC))
    again = land_scores(_scored("v1", days=2), tmp_path, datetime(2026, 3, 4, tzinfo=UTC))
    assert again.skipped
    replaced = land_scores(_scored("v2", days=1), tmp_path, datetime(2026, 3, 5, tzinfo=UTC))
    assert (replaced.partitions_written, replaced.partitions_removed) == (1, 1)
    rows = _landed_rows(tmp_path)
    assert len(rows) == 1_440 and {r[2] for r in rows} == {"v2"}


def test_a_crash_while_writing_leaves_the_previous_partition_intact(tmp_path, monkeypatch) -> None:
    land_scores(_scored("v1"), tmp_path, datetime(2026, 3, 3, tzinfo=UTC))

    def crash(table, where, **kwargs):
        with open(where, "wb") as handle:
            handle.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", crash)
    with pytest.raises(OSError, match="disk full"):
        land_scores(_scored("v2"), tmp_path, datetime(2026, 3, 4, tzinfo=UTC))
    rows = _landed_rows(tmp_path)
    assert len(rows) == 2_880 and {r[2] for r in rows} == {"v1"}
    assert not list((tmp_path / ".staging").glob("*.parquet"))


# --- SageMaker: what is sent, and parsing what comes back -------------------------------------

SM = SageMakerConfig(
    role_arn="arn:aws:iam::123456789012:role/sagemaker-rcf",
    s3_prefix="s3://example-ml/eventlake",
    region="eu-west-1",
)
IMAGE = "438346466558.dkr.ecr.eu-west-1.amazonaws.com/randomcutforest:1"


def test_image_uri_per_region() -> None:
    assert rcf_image_uri("eu-west-1") == IMAGE
    assert rcf_image_uri("cn-north-1").endswith(".amazonaws.com.cn/randomcutforest:1")
    with pytest.raises(ValueError, match="EVENTLAKE_SAGEMAKER_IMAGE_URI"):
        rcf_image_uri("mars-north-1")


def test_parse_transform_output_accepts_jsonlines_csv_and_json_batches() -> None:
    jsonlines = '{"score": 0.91}\n{"score": 1.5}\n\n{"score": 3.25}\n'
    assert parse_transform_output(jsonlines, 3).tolist() == [0.91, 1.5, 3.25]
    assert parse_transform_output("0.5\n2.0\n").tolist() == [0.5, 2.0]
    batched = '{"scores": [{"score": 1.0}, {"score": 2.0}]}\n'
    assert parse_transform_output(batched, 2).tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="2 scores for 3 input lines"):
        parse_transform_output("1\n2\n", 3)
    with pytest.raises(ValueError, match="line 2 is not a score"):
        parse_transform_output('{"score": 1}\n{"label": 2}\n')


def _not_found(stub: Stubber, operation: str) -> None:
    stub.add_client_error(
        operation, service_error_code="ValidationException", service_message="not found"
    )


def _training_described(name: str, status: str = "Completed") -> dict:
    return {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:eu-west-1:123456789012:training-job/{name}",
        "ModelArtifacts": {
            "S3ModelArtifacts": f"s3://example-ml/eventlake/jobs/training/{name}/output/model.tar.gz"
        },
        "TrainingJobStatus": status,
        "SecondaryStatus": status,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "ResourceConfig": {
            "InstanceType": "ml.m4.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 10,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "CreationTime": datetime(2026, 3, 3, tzinfo=UTC),
        "TrainingEndTime": datetime(2026, 3, 3, 0, 20, tzinfo=UTC),
    }


def _transform_described(name: str) -> dict:
    return {
        "TransformJobName": name,
        "TransformJobArn": f"arn:aws:sagemaker:eu-west-1:123456789012:transform-job/{name}",
        "TransformJobStatus": "Completed",
        "ModelName": "m",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://x/y"}}
        },
        "TransformResources": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1},
        "CreationTime": datetime(2026, 3, 3, tzinfo=UTC),
    }


def test_sagemaker_train_and_score_send_the_seeds_job_shapes() -> None:
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="eu-west-1"
    )
    sagemaker, s3 = session.client("sagemaker"), session.client("s3")
    config = RcfConfig(shingle_size=4)
    runner = SageMakerRcf(SM, config, sagemaker, s3, waiter_delay=1)
    name = job_name("A101", "0123456789ab")
    data_key = "eventlake/export/room_id=A101/fp0123456789/features.csv"
    csv = b"20.0,20.1,20.2,20.3\n20.1,20.2,20.3,29.0\n"
    tags = [{"Key": "project", "Value": "eventlake"}]
    transform = job_name("A101", "0123456789ab-fp012345")

    with Stubber(sagemaker) as sm_stub, Stubber(s3) as s3_stub:
        _not_found(sm_stub, "describe_training_job")
        s3_stub.add_response(
            "put_object", {}, {"Bucket": "example-ml", "Key": data_key, "Body": csv}
        )
        sm_stub.add_response(
            "create_training_job",
            {"TrainingJobArn": "arn:aws:sagemaker:eu-west-1:123456789012:training-job/x"},
            {
                "TrainingJobName": name,
                "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
                "RoleArn": SM.role_arn,
                "HyperParameters": {
                    "feature_dim": "4",
                    "num_samples_per_tree": "512",
                    "num_trees": "50",
                },
                "InputDataConfig": [
                    {
                        "ChannelName": "train",
                        "DataSource": {
                            "S3DataSource": {
                                "S3DataType": "S3Prefix",
                                "S3Uri": f"s3://example-ml/{data_key}",
                                "S3DataDistributionType": "ShardedByS3Key",
                            }
                        },
                        "ContentType": "text/csv;label_size=0",
                        "CompressionType": "None",
                        "InputMode": "File",
                    }
                ],
                "OutputDataConfig": {"S3OutputPath": "s3://example-ml/eventlake/jobs/training"},
                "ResourceConfig": {
                    "InstanceType": "ml.m4.xlarge",
                    "InstanceCount": 1,
                    "VolumeSizeInGB": 10,
                },
                "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
                "Tags": tags,
            },
        )
        sm_stub.add_response(
            "describe_training_job", _training_described(name), {"TrainingJobName": name}
        )
        sm_stub.add_response(
            "describe_training_job", _training_described(name), {"TrainingJobName": name}
        )
        sm_stub.add_response(
            "create_model",
            {"ModelArn": "arn:aws:sagemaker:eu-west-1:123456789012:model/x"},
            {
                "ModelName": name,
                "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": ANY},
                "ExecutionRoleArn": SM.role_arn,
                "Tags": tags,
            },
        )
        _not_found(sm_stub, "describe_transform_job")
        s3_stub.add_response(
            "put_object", {}, {"Bucket": "example-ml", "Key": data_key, "Body": csv}
        )
        sm_stub.add_response(
            "create_transform_job",
            {"TransformJobArn": "arn:aws:sagemaker:eu-west-1:123456789012:transform-job/x"},
            {
                "TransformJobName": transform,
                "ModelName": name,
                "BatchStrategy": "MultiRecord",
                "MaxPayloadInMB": 6,
                "TransformInput": {
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": f"s3://example-ml/{data_key}",
                        }
                    },
                    "ContentType": "text/csv",
                    "CompressionType": "None",
                    "SplitType": "Line",
                },
                "TransformOutput": {
                    "S3OutputPath": f"s3://example-ml/eventlake/jobs/transform/{transform}",
                    "Accept": "application/jsonlines",
                    "AssembleWith": "Line",
                },
                "TransformResources": {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1},
                "Tags": tags,
            },
        )
        for _ in range(2):
            sm_stub.add_response(
                "describe_transform_job",
                _transform_described(transform),
                {"TransformJobName": transform},
            )
        body = b'{"score": 0.8}\n{"score": 4.2}\n'
        s3_stub.add_response(
            "get_object",
            {"Body": StreamingBody(io.BytesIO(body), len(body))},
            {
                "Bucket": "example-ml",
                "Key": f"eventlake/jobs/transform/{transform}/features.csv.out",
            },
        )

        trained = runner.train("A101", "0123456789ab", "fp0123456789", csv)
        scores = runner.score("A101", "0123456789ab", "fp0123456789", csv, 2)
        sm_stub.assert_no_pending_responses()
        s3_stub.assert_no_pending_responses()

    assert trained["model_data_url"].endswith("/output/model.tar.gz")
    assert scores.tolist() == [0.8, 4.2]


def test_a_failed_training_job_is_one_clear_error() -> None:
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="eu-west-1"
    )
    sagemaker = session.client("sagemaker")
    runner = SageMakerRcf(SM, RcfConfig(), sagemaker, session.client("s3"), waiter_delay=1)
    name = job_name("A101", "0123456789ab")
    failed = {**_training_described(name, "Failed"), "FailureReason": "ClientError: bad CSV"}
    with Stubber(sagemaker) as stub:
        stub.add_response("describe_training_job", failed, {"TrainingJobName": name})  # exists
        stub.add_response("describe_training_job", failed, {"TrainingJobName": name})  # waiter
        stub.add_response("describe_training_job", failed, {"TrainingJobName": name})
        with pytest.raises(RuntimeError, match="ended Failed: ClientError: bad CSV"):
            runner.train("A101", "0123456789ab", "fp", b"1\n")
