"""The CloudFormation template that deploys the pipeline, with the state machine in it.

Everything the AWS run needs, in one stack: the lake bucket (and its access-log bucket), the
Glue database and the table over batch-transform output, the Athena workgroup, the Firehose
stream and IoT rule that land device readings, the Glue JDBC job and its connection, the ECS
cluster and Fargate task definition (the image of ``orchestration/Dockerfile``), the log groups,
the SageMaker execution role, the state machine and its role, the EventBridge schedule and the
SNS topic. Each role is scoped to the prefixes, job, cluster, parameters and topic it uses: no
data action has ``*`` as its resource (``tests/aws/test_aws_template.py`` checks every statement).

The state machine's ``Definition`` is ``orchestration.asl.render``'s output; its ``${Name}``
placeholders are filled by ``DefinitionSubstitutions`` from the resources below.
"""

from __future__ import annotations

from typing import Any

from ml.sagemaker import RCF_REGISTRIES

Json = dict[str, Any]

CONTAINER_NAME = "eventlake"
ROOMS_PATTERN = r"^[A-Za-z0-9_-]+(,[A-Za-z0-9_-]+)*$"


def _sub(text: str) -> Json:
    return {"Fn::Sub": text}


def _ref(name: str) -> Json:
    return {"Ref": name}


def _getatt(name: str, attribute: str) -> Json:
    return {"Fn::GetAtt": [name, attribute]}


def _lake(key: str) -> Json:
    """ARN of objects under a lake prefix."""
    return _sub(f"arn:${{AWS::Partition}}:s3:::${{LakeBucket}}/{key}")


def _bucket_arn() -> Json:
    return _getatt("LakeBucket", "Arn")


def _list_bucket(*prefixes: str) -> Json:
    """s3:ListBucket on the lake bucket, only under the given prefixes."""
    return {
        "Effect": "Allow",
        "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
        "Resource": _bucket_arn(),
        "Condition": {"StringLike": {"s3:prefix": [f"{p}/*" for p in prefixes] + list(prefixes)}},
    }


def _role(service: str, statements: list[Json], name: str) -> Json:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": service},
                        "Action": "sts:AssumeRole",
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": _ref("AWS::AccountId")}
                        },
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": name,
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
        },
    }


def _athena_statements(*write_prefixes: str) -> list[Json]:
    """Run queries in the workgroup: Athena, the Glue catalog of the pipeline's databases, and
    the S3 objects those queries read (the lake) and write (results and the given prefixes)."""
    catalog = [
        _sub("arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:catalog"),
        _sub(
            "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:database/${DatabasePrefix}*"
        ),
        _sub(
            "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/${DatabasePrefix}*/*"
        ),
    ]
    return [
        {
            "Effect": "Allow",
            "Action": [
                "athena:StartQueryExecution",
                "athena:GetQueryExecution",
                "athena:GetQueryResults",
                "athena:StopQueryExecution",
                "athena:GetWorkGroup",
            ],
            "Resource": _sub(
                "arn:${AWS::Partition}:athena:${AWS::Region}:${AWS::AccountId}:workgroup/${AthenaWorkGroup}"
            ),
        },
        {
            "Effect": "Allow",
            "Action": [
                "glue:GetDatabase",
                "glue:GetDatabases",
                "glue:GetTable",
                "glue:GetTables",
                "glue:GetPartition",
                "glue:GetPartitions",
                "glue:BatchGetPartition",
                "glue:CreatePartition",
                "glue:BatchCreatePartition",
            ],
            "Resource": catalog,
        },
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [_lake(f"{p}/*") for p in ("raw", "warehouse", "ml")],
        },
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload", "s3:GetObject"],
            "Resource": [_lake(f"{p}/*") for p in ("athena-results", *write_prefixes)],
        },
        _list_bucket("raw", "warehouse", "ml", "athena-results"),
    ]


def parameters(rooms: list[str]) -> Json:
    return {
        "EnvironmentName": {
            "Type": "String",
            "Default": "eventlake",
            "AllowedPattern": "^[a-z][a-z0-9-]{1,20}$",
            "Description": "Prefix of the names this stack gives (parameters, job, cluster).",
        },
        "DatabasePrefix": {
            "Type": "String",
            "Default": "eventlake",
            "AllowedPattern": "^[a-z][a-z0-9_]{1,30}$",
            "Description": "Glue databases the pipeline may use start with this"
            " (dbt's EVENTLAKE_ATHENA_SCHEMA and its _<layer> schemas, EVENTLAKE_ML_SCHEMA).",
        },
        "Rooms": {
            "Type": "String",
            "Default": ",".join(rooms),
            "AllowedPattern": ROOMS_PATTERN,
            "Description": "Comma-separated room ids the ML Map scores (execution input 'rooms'"
            " overrides it).",
        },
        "ScheduleExpression": {
            "Type": "String",
            "Default": "rate(1 day)",
            "Description": "EventBridge schedule of the pipeline (daily by default).",
        },
        "EcrRepositoryName": {
            "Type": "String",
            "Default": "eventlake",
            "Description": "ECR repository of the orchestration/Dockerfile image.",
        },
        "ImageTag": {"Type": "String", "Default": "latest"},
        "SubnetId": {
            "Type": "AWS::EC2::Subnet::Id",
            "Description": "Private subnet (with a NAT or VPC endpoints) for Fargate and Glue.",
        },
        "SecurityGroupId": {"Type": "AWS::EC2::SecurityGroup::Id"},
        "DatabaseAvailabilityZone": {
            "Type": "AWS::EC2::AvailabilityZone::Name",
            "Description": "Availability zone of SubnetId (the Glue JDBC connection needs it).",
        },
        "JdbcUrl": {
            "Type": "String",
            "Default": "jdbc:sqlserver://sensors.internal:1433;databaseName=sensors",
            "Description": "JDBC URL of the sensor database the Glue job extracts.",
        },
        "JdbcSecretArn": {
            "Type": "String",
            "AllowedPattern": "^arn:aws[a-z-]*:secretsmanager:.+$",
            "Description": "Secrets Manager secret with the database's username and password.",
        },
        "JdbcTable": {"Type": "String", "Default": "dbo.temperatures"},
        "TrainingInstanceType": {"Type": "String", "Default": "ml.m4.xlarge"},
        "TransformInstanceType": {"Type": "String", "Default": "ml.c5.xlarge"},
        "IotTopicFilter": {"Type": "String", "Default": "sensors/+/temperature"},
    }


def _lake_buckets() -> Json:
    encryption = {
        "ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]
    }
    block = {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    tls_only = {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    return {
        "AccessLogBucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Metadata": {
                "checkov": {
                    "skip": [
                        {
                            "id": "CKV_AWS_18",
                            "comment": "this is the access-log target; logging it into itself"
                            " would loop",
                        }
                    ]
                }
            },
            "Properties": {
                "BucketEncryption": encryption,
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": block,
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "LifecycleConfiguration": {
                    "Rules": [{"Id": "expire-logs", "Status": "Enabled", "ExpirationInDays": 365}]
                },
            },
        },
        "AccessLogBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": _ref("AccessLogBucket"),
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            **tls_only,
                            "Resource": [
                                _getatt("AccessLogBucket", "Arn"),
                                _sub("${AccessLogBucket.Arn}/*"),
                            ],
                        },
                        {
                            "Sid": "ServerAccessLogs",
                            "Effect": "Allow",
                            "Principal": {"Service": "logging.s3.amazonaws.com"},
                            "Action": "s3:PutObject",
                            "Resource": _sub("${AccessLogBucket.Arn}/lake/*"),
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": _ref("AWS::AccountId")}
                            },
                        },
                    ],
                },
            },
        },
        "LakeBucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Metadata": {
                "checkov": {
                    "skip": [
                        {
                            "id": "CKV_AWS_21",
                            "comment": "lake objects are immutable by design (raw lines land once,"
                            " marts are rewritten by partition); versioning would double storage"
                            " of every rewritten partition",
                        }
                    ]
                }
            },
            "Properties": {
                "BucketEncryption": encryption,
                "PublicAccessBlockConfiguration": block,
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "LoggingConfiguration": {
                    "DestinationBucketName": _ref("AccessLogBucket"),
                    "LogFilePrefix": "lake/",
                },
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "athena-results",
                            "Status": "Enabled",
                            "Prefix": "athena-results/",
                            "ExpirationInDays": 30,
                        },
                        {
                            "Id": "abort-uploads",
                            "Status": "Enabled",
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                        },
                    ]
                },
            },
        },
        "LakeBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": _ref("LakeBucket"),
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            **tls_only,
                            "Resource": [_bucket_arn(), _sub("${LakeBucket.Arn}/*")],
                        }
                    ],
                },
            },
        },
    }


def _catalog() -> Json:
    return {
        "GlueDatabase": {
            "Type": "AWS::Glue::Database",
            "Properties": {
                "CatalogId": _ref("AWS::AccountId"),
                "DatabaseInput": {
                    "Name": _sub("${DatabasePrefix}_pipeline"),
                    "Description": "eventlake pipeline tables (batch-transform output)",
                },
            },
        },
        # Partition projection: each transform job's folder is a partition nobody registers.
        "TransformOutputTable": {
            "Type": "AWS::Glue::Table",
            "Properties": {
                "CatalogId": _ref("AWS::AccountId"),
                "DatabaseName": _ref("GlueDatabase"),
                "TableInput": {
                    "Name": "rcf_transform_output",
                    "TableType": "EXTERNAL_TABLE",
                    "PartitionKeys": [{"Name": "job", "Type": "string"}],
                    "Parameters": {
                        "classification": "csv",
                        "projection.enabled": "true",
                        "projection.job.type": "injected",
                        "storage.location.template": _sub(
                            "s3://${LakeBucket}/ml/transform/job=${!job}/"
                        ),
                    },
                    "StorageDescriptor": {
                        # Whole lines: LandScores splits them (keys, then the model's answer).
                        "Columns": [{"Name": "line", "Type": "string"}],
                        "Location": _sub("s3://${LakeBucket}/ml/transform/"),
                        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
                        "OutputFormat": (
                            "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
                        ),
                        "SerdeInfo": {
                            "SerializationLibrary": (
                                "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
                            ),
                            "Parameters": {"field.delim": "\u0001"},
                        },
                    },
                },
            },
        },
        "AthenaWorkGroup": {
            "Type": "AWS::Athena::WorkGroup",
            "Properties": {
                "Name": _sub("${EnvironmentName}"),
                "RecursiveDeleteOption": False,
                "WorkGroupConfiguration": {
                    "EnforceWorkGroupConfiguration": True,
                    "PublishCloudWatchMetricsEnabled": True,
                    "EngineVersion": {"SelectedEngineVersion": "Athena engine version 3"},
                    "ResultConfiguration": {
                        "OutputLocation": _sub("s3://${LakeBucket}/athena-results/"),
                        "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
                    },
                },
            },
        },
    }


def _delivery() -> Json:
    firehose_role = _role(
        "firehose.amazonaws.com",
        [
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                "Resource": _lake("raw/sensor_readings/*"),
            },
            _list_bucket("raw/sensor_readings"),
            {
                "Effect": "Allow",
                "Action": ["logs:PutLogEvents"],
                "Resource": _getatt("FirehoseLogGroup", "Arn"),
            },
        ],
        "firehose-to-raw",
    )
    iot_role = _role(
        "iot.amazonaws.com",
        [
            {
                "Effect": "Allow",
                "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
                "Resource": _getatt("ReadingsStream", "Arn"),
            }
        ],
        "iot-to-firehose",
    )
    return {
        "FirehoseLogGroup": _log_group("/aws/kinesisfirehose/${EnvironmentName}-readings"),
        "FirehoseRole": firehose_role,
        # Direct PUT, the processing-time prefix the raw zone expects (<feed>/YYYY/MM/DD/HH/).
        "ReadingsStream": {
            "Type": "AWS::KinesisFirehose::DeliveryStream",
            "Properties": {
                "DeliveryStreamType": "DirectPut",
                "DeliveryStreamEncryptionConfigurationInput": {"KeyType": "AWS_OWNED_CMK"},
                "ExtendedS3DestinationConfiguration": {
                    "BucketARN": _bucket_arn(),
                    "Prefix": "raw/sensor_readings/",
                    "ErrorOutputPrefix": "raw-errors/sensor_readings/",
                    "RoleARN": _getatt("FirehoseRole", "Arn"),
                    "BufferingHints": {"IntervalInSeconds": 300, "SizeInMBs": 5},
                    "CompressionFormat": "GZIP",
                    "CloudWatchLoggingOptions": {
                        "Enabled": True,
                        "LogGroupName": _ref("FirehoseLogGroup"),
                        "LogStreamName": "S3Delivery",
                    },
                },
            },
        },
        "IotRuleRole": iot_role,
        # The seed's rule: every reading to Firehose, one JSON object per line.
        "ReadingsTopicRule": {
            "Type": "AWS::IoT::TopicRule",
            "Properties": {
                "TopicRulePayload": {
                    "Sql": _sub("SELECT * FROM '${IotTopicFilter}'"),
                    "AwsIotSqlVersion": "2016-03-23",
                    "RuleDisabled": False,
                    "Actions": [
                        {
                            "Firehose": {
                                "DeliveryStreamName": _ref("ReadingsStream"),
                                "RoleArn": _getatt("IotRuleRole", "Arn"),
                                "Separator": "\n",
                            }
                        }
                    ],
                }
            },
        },
    }


def _log_group(name: str, days: int = 90) -> Json:
    return {
        "Type": "AWS::Logs::LogGroup",
        "Metadata": {
            "checkov": {
                "skip": [
                    {
                        "id": "CKV_AWS_158",
                        "comment": "log groups are encrypted at rest by CloudWatch Logs; the logs"
                        " hold run progress, no data values, so no customer key is needed",
                    }
                ]
            }
        },
        "Properties": {"LogGroupName": _sub(name), "RetentionInDays": days},
    }


def _glue_job() -> Json:
    ec2 = "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}"
    role = _role(
        "glue.amazonaws.com",
        [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": _lake("artifacts/glue/*"),
            },
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
                "Resource": [_lake("raw/sensor_db_extract/*"), _lake("artifacts/glue-temp/*")],
            },
            _list_bucket("raw/sensor_db_extract", "artifacts/glue", "artifacts/glue-temp"),
            {
                "Effect": "Allow",
                "Action": ["glue:GetConnection", "glue:GetJobBookmark"],
                "Resource": [
                    _sub("arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:catalog"),
                    _sub(
                        "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}"
                        ":connection/${JdbcConnection}"
                    ),
                    _sub(
                        "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}"
                        ":job/${EnvironmentName}-extract-jdbc"
                    ),
                ],
            },
            {
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": _ref("JdbcSecretArn"),
            },
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"],
                "Resource": _sub(
                    "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}"
                    ":log-group:/aws-glue/*"
                ),
            },
            {
                # The JDBC connection's network interfaces in the VPC: Describe* takes no
                # resource scope (read-only, no data)...
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeVpcEndpoints",
                    "ec2:DescribeRouteTables",
                    "ec2:DescribeVpcAttribute",
                    "ec2:DescribeNetworkInterfaces",
                ],
                "Resource": "*",
            },
            {
                # ...creating and deleting them is scoped to the stack's subnet and group.
                "Effect": "Allow",
                "Action": [
                    "ec2:CreateNetworkInterface",
                    "ec2:DeleteNetworkInterface",
                    "ec2:CreateTags",
                ],
                "Resource": [
                    _sub(f"{ec2}:network-interface/*"),
                    _sub(f"{ec2}:subnet/${{SubnetId}}"),
                    _sub(f"{ec2}:security-group/${{SecurityGroupId}}"),
                ],
            },
        ],
        "glue-extract-jdbc",
    )
    return {
        "GlueJobRole": role,
        "JdbcConnection": {
            "Type": "AWS::Glue::Connection",
            "Properties": {
                "CatalogId": _ref("AWS::AccountId"),
                "ConnectionInput": {
                    "Name": _sub("${EnvironmentName}-sensors-jdbc"),
                    "ConnectionType": "JDBC",
                    "ConnectionProperties": {
                        "JDBC_CONNECTION_URL": _ref("JdbcUrl"),
                        "SECRET_ID": _ref("JdbcSecretArn"),
                        "JDBC_ENFORCE_SSL": "true",
                    },
                    "PhysicalConnectionRequirements": {
                        "SubnetId": _ref("SubnetId"),
                        "SecurityGroupIdList": [_ref("SecurityGroupId")],
                        "AvailabilityZone": _ref("DatabaseAvailabilityZone"),
                    },
                },
            },
        },
        "GlueSecurityConfiguration": {
            "Type": "AWS::Glue::SecurityConfiguration",
            "Properties": {
                "Name": _sub("${EnvironmentName}-glue"),
                "EncryptionConfiguration": {
                    "S3Encryptions": [{"S3EncryptionMode": "SSE-S3"}],
                    "CloudWatchEncryption": {"CloudWatchEncryptionMode": "DISABLED"},
                    "JobBookmarksEncryption": {"JobBookmarksEncryptionMode": "DISABLED"},
                },
            },
            "Metadata": {
                "checkov": {
                    "skip": [
                        {
                            "id": "CKV_AWS_99",
                            "comment": "S3 output is encrypted (SSE-S3); logs and bookmarks hold"
                            " no data values (bookmark = the last updated_at/id seen), and KMS"
                            " for them would need a customer key this stack does not manage",
                        }
                    ]
                }
            },
        },
        # ingestion/glue/extract_jdbc_to_raw.py, uploaded to artifacts/glue/ (docs/aws.md).
        "ExtractJdbcJob": {
            "Type": "AWS::Glue::Job",
            "Properties": {
                "Name": _sub("${EnvironmentName}-extract-jdbc"),
                "Role": _getatt("GlueJobRole", "Arn"),
                "GlueVersion": "4.0",
                "WorkerType": "G.1X",
                "NumberOfWorkers": 2,
                "Timeout": 60,
                "MaxRetries": 0,
                "ExecutionProperty": {"MaxConcurrentRuns": 1},
                "SecurityConfiguration": _ref("GlueSecurityConfiguration"),
                "Connections": {"Connections": [_ref("JdbcConnection")]},
                "Command": {
                    "Name": "glueetl",
                    "PythonVersion": "3",
                    "ScriptLocation": _sub(
                        "s3://${LakeBucket}/artifacts/glue/extract_jdbc_to_raw.py"
                    ),
                },
                "DefaultArguments": {
                    "--target_path": _sub("s3://${LakeBucket}/raw/sensor_db_extract"),
                    "--connection_name": _ref("JdbcConnection"),
                    "--dbtable": _ref("JdbcTable"),
                    "--job-bookmark-option": "job-bookmark-enable",
                    "--extra-py-files": _sub(
                        "s3://${LakeBucket}/artifacts/glue/eventlake_ingestion.zip"
                    ),
                    "--TempDir": _sub("s3://${LakeBucket}/artifacts/glue-temp/"),
                    "--enable-continuous-cloudwatch-log": "true",
                },
            },
        },
    }


def _containers() -> Json:
    image = _sub(
        "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/${EcrRepositoryName}:${ImageTag}"
    )
    environment = {
        "EVENTLAKE_TARGET": "athena",
        "AWS_REGION": _ref("AWS::Region"),
        "EVENTLAKE_LAKE_S3_URI": _sub("s3://${LakeBucket}"),
        "EVENTLAKE_RAW_S3_URI": _sub("s3://${LakeBucket}/raw"),
        "EVENTLAKE_ML_S3_URI": _sub("s3://${LakeBucket}/ml"),
        "EVENTLAKE_ATHENA_S3_STAGING_DIR": _sub("s3://${LakeBucket}/athena-results/"),
        "EVENTLAKE_ATHENA_S3_DATA_DIR": _sub("s3://${LakeBucket}/warehouse/"),
        "EVENTLAKE_ATHENA_WORK_GROUP": _ref("AthenaWorkGroup"),
        "EVENTLAKE_ATHENA_SCHEMA": _ref("DatabasePrefix"),
        "EVENTLAKE_ML_SCHEMA": _sub("${DatabasePrefix}_ml"),
        # The raw sources' Glue database: under DatabasePrefix, where the task role's Glue
        # permissions reach (the source's default, raw, is outside them).
        "EVENTLAKE_RAW_SCHEMA": _sub("${DatabasePrefix}_raw"),
        "EVENTLAKE_DBT_STATE_URI": _sub("s3://${LakeBucket}/dbt-state"),
        "EVENTLAKE_GATE_PARAMETER": _ref("GateParameter"),
        "EVENTLAKE_WATERMARK_PARAMETER": _ref("WatermarkParameter"),
    }
    task_role = _role(
        "ecs-tasks.amazonaws.com",
        [
            *_athena_statements("warehouse", "raw", "ml"),
            {
                "Effect": "Allow",
                "Action": ["s3:DeleteObject"],
                "Resource": _lake("warehouse/*"),
            },
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": _lake("sources/*"),
            },
            {
                # dbt's run results per run; the importers' manifests (orchestration/aws_import.py).
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": [_lake("dbt-state/*"), _lake("state/*")],
            },
            _list_bucket("sources", "dbt-state", "state"),
            {
                # dbt-athena manages its own schemas and tables, all under DatabasePrefix.
                "Effect": "Allow",
                "Action": [
                    "glue:CreateDatabase",
                    "glue:CreateTable",
                    "glue:UpdateTable",
                    "glue:DeleteTable",
                    "glue:BatchDeletePartition",
                    "glue:DeletePartition",
                    "glue:UpdatePartition",
                ],
                "Resource": [
                    _sub("arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:catalog"),
                    _sub(
                        "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}"
                        ":database/${DatabasePrefix}*"
                    ),
                    _sub(
                        "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}"
                        ":table/${DatabasePrefix}*/*"
                    ),
                ],
            },
            {
                "Effect": "Allow",
                "Action": ["ssm:GetParameter", "ssm:PutParameter"],
                "Resource": [
                    _sub(
                        "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}"
                        ":parameter${GateParameter}"
                    ),
                ],
            },
            {
                "Effect": "Allow",
                "Action": ["ssm:GetParameter"],
                "Resource": _sub(
                    "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}"
                    ":parameter${WatermarkParameter}"
                ),
            },
            {
                # the gate stands down while an older execution runs (orchestration/aws_gate.py);
                # the ARN is spelled out: the state machine's role refers to this role already
                "Effect": "Allow",
                "Action": ["states:ListExecutions"],
                "Resource": _sub(
                    "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}"
                    ":stateMachine:${EnvironmentName}-pipeline"
                ),
            },
        ],
        "eventlake-task",
    )
    execution_role = _role(
        "ecs-tasks.amazonaws.com",
        [
            {
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchCheckLayerAvailability",
                ],
                "Resource": _sub(
                    "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}"
                    ":repository/${EcrRepositoryName}"
                ),
            },
            {
                # Registry login: an account-level action that takes no resource scope.
                "Effect": "Allow",
                "Action": ["ecr:GetAuthorizationToken"],
                "Resource": "*",
            },
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": _sub("${TaskLogGroup.Arn}"),
            },
        ],
        "eventlake-task-execution",
    )
    scratch = ["target", "logs", "tmp"]
    return {
        "TaskLogGroup": _log_group("/ecs/${EnvironmentName}"),
        "TaskRole": task_role,
        "TaskExecutionRole": execution_role,
        "EcsCluster": {
            "Type": "AWS::ECS::Cluster",
            "Properties": {
                "ClusterName": _sub("${EnvironmentName}"),
                "ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}],
            },
        },
        "TaskDefinition": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": _sub("${EnvironmentName}"),
                "RequiresCompatibilities": ["FARGATE"],
                "NetworkMode": "awsvpc",
                "Cpu": "1024",
                "Memory": "4096",
                "TaskRoleArn": _getatt("TaskRole", "Arn"),
                "ExecutionRoleArn": _getatt("TaskExecutionRole", "Arn"),
                # The root file system is read-only; dbt's target/ and logs/ and /tmp are
                # task-scoped scratch volumes.
                "Volumes": [{"Name": name} for name in scratch],
                "ContainerDefinitions": [
                    {
                        "Name": CONTAINER_NAME,
                        "Image": image,
                        "Essential": True,
                        "ReadonlyRootFilesystem": True,
                        "Privileged": False,
                        "MountPoints": [
                            {
                                "SourceVolume": name,
                                "ContainerPath": "/tmp" if name == "tmp" else f"/app/{name}",
                                "ReadOnly": False,
                            }
                            for name in scratch
                        ],
                        "Environment": [
                            {"Name": key, "Value": value} for key, value in environment.items()
                        ],
                        "LogConfiguration": {
                            "LogDriver": "awslogs",
                            "Options": {
                                "awslogs-group": _ref("TaskLogGroup"),
                                "awslogs-region": _ref("AWS::Region"),
                                "awslogs-stream-prefix": "pipeline",
                            },
                        },
                    }
                ],
            },
        },
    }


def _sagemaker_role() -> Json:
    return {
        "SageMakerRole": _role(
            "sagemaker.amazonaws.com",
            [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject"],
                    "Resource": [_lake("ml/export/*"), _lake("ml/jobs/*")],
                },
                {
                    "Effect": "Allow",
                    "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                    "Resource": [_lake("ml/jobs/*"), _lake("ml/transform/*")],
                },
                _list_bucket("ml/export", "ml/jobs", "ml/transform"),
                {
                    "Effect": "Allow",
                    "Action": [
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                    ],
                    "Resource": _sub(
                        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}"
                        ":log-group:/aws/sagemaker/*"
                    ),
                },
                {
                    # Job metrics: CloudWatch metrics take no resource scope; not a data action.
                    "Effect": "Allow",
                    "Action": ["cloudwatch:PutMetricData"],
                    "Resource": "*",
                    "Condition": {"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
                },
            ],
            "sagemaker-rcf",
        )
    }


def _state_machine(definition: Json, substitutions: Json) -> Json:
    sagemaker = "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}"
    events = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule"
    statements = [
        {
            "Effect": "Allow",
            "Action": [
                "glue:StartJobRun",
                "glue:GetJobRun",
                "glue:GetJobRuns",
                "glue:BatchStopJobRun",
            ],
            "Resource": _sub(
                "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:job/${ExtractJdbcJob}"
            ),
        },
        {
            "Effect": "Allow",
            "Action": ["ecs:RunTask"],
            "Resource": _sub(
                "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}"
                ":task-definition/${EnvironmentName}:*"
            ),
            "Condition": {"ArnEquals": {"ecs:cluster": _getatt("EcsCluster", "Arn")}},
        },
        {
            "Effect": "Allow",
            "Action": ["ecs:StopTask", "ecs:DescribeTasks"],
            "Resource": _sub(
                "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task/${EcsCluster}/*"
            ),
        },
        {
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": [_getatt("TaskRole", "Arn"), _getatt("TaskExecutionRole", "Arn")],
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        },
        {
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": _getatt("SageMakerRole", "Arn"),
            "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        },
        {
            "Effect": "Allow",
            "Action": [
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopTrainingJob",
                "sagemaker:CreateModel",
                "sagemaker:CreateTransformJob",
                "sagemaker:DescribeTransformJob",
                "sagemaker:StopTransformJob",
                "sagemaker:AddTags",
            ],
            "Resource": [
                _sub(f"{sagemaker}:training-job/eventlake-rcf-*"),
                _sub(f"{sagemaker}:model/eventlake-rcf-*"),
                _sub(f"{sagemaker}:transform-job/eventlake-rcf-*"),
            ],
        },
        {
            # The .sync integrations (ECS, SageMaker) learn of job ends through these rules.
            "Effect": "Allow",
            "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            "Resource": [
                _sub(f"{events}/StepFunctionsGetEventsForECSTaskRule"),
                _sub(f"{events}/StepFunctionsGetEventsForSageMakerTrainingJobsRule"),
                _sub(f"{events}/StepFunctionsGetEventsForSageMakerTransformJobsRule"),
            ],
        },
        *_athena_statements("ml/export", "ml/anomaly_scores"),
        {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": _ref("PipelineTopic")},
        {
            "Effect": "Allow",
            "Action": ["ssm:GetParameter"],
            "Resource": _sub(
                "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${GateParameter}"
            ),
        },
        {
            "Effect": "Allow",
            "Action": ["ssm:PutParameter"],
            "Resource": _sub(
                "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}"
                ":parameter${WatermarkParameter}"
            ),
        },
        {
            # Execution logs and traces: these delivery and X-Ray actions take no resource
            # scope (AWS documents "*" for them); they carry no lake data.
            "Effect": "Allow",
            "Action": [
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
            ],
            "Resource": "*",
        },
    ]
    return {
        "StateMachineLogGroup": _log_group("/aws/vendedlogs/states/${EnvironmentName}"),
        "StateMachineRole": _role("states.amazonaws.com", statements, "eventlake-pipeline"),
        "PipelineStateMachine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": _sub("${EnvironmentName}-pipeline"),
                "StateMachineType": "STANDARD",
                "RoleArn": _getatt("StateMachineRole", "Arn"),
                "Definition": definition,
                "DefinitionSubstitutions": substitutions,
                "LoggingConfiguration": {
                    "Level": "ERROR",
                    "IncludeExecutionData": False,
                    "Destinations": [
                        {
                            "CloudWatchLogsLogGroup": {
                                "LogGroupArn": _getatt("StateMachineLogGroup", "Arn")
                            }
                        }
                    ],
                },
                "TracingConfiguration": {"Enabled": True},
            },
        },
        "ScheduleRole": _role(
            "events.amazonaws.com",
            [
                {
                    "Effect": "Allow",
                    "Action": ["states:StartExecution"],
                    "Resource": _ref("PipelineStateMachine"),
                }
            ],
            "start-pipeline",
        ),
        "PipelineSchedule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Description": "eventlake pipeline schedule",
                "ScheduleExpression": _ref("ScheduleExpression"),
                "State": "ENABLED",
                "Targets": [
                    {
                        "Id": "pipeline",
                        "Arn": _ref("PipelineStateMachine"),
                        "RoleArn": _getatt("ScheduleRole", "Arn"),
                        "Input": "{}",
                    }
                ],
            },
        },
    }


def substitutions() -> Json:
    """The values CloudFormation puts in place of the definition's ``${Name}`` placeholders."""
    return {
        "AthenaWorkGroup": _ref("AthenaWorkGroup"),
        "EcsClusterArn": _getatt("EcsCluster", "Arn"),
        "GateParameter": _ref("GateParameter"),
        "GlueDatabase": _ref("GlueDatabase"),
        "GlueJobName": _ref("ExtractJdbcJob"),
        "HistorySourceUri": _sub("s3://${LakeBucket}/sources/history_csv/"),
        "LakeBucket": _ref("LakeBucket"),
        "RcfImageUri": {
            "Fn::Sub": [
                "${Account}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/randomcutforest:1",
                {"Account": {"Fn::FindInMap": ["RcfRegistry", _ref("AWS::Region"), "Account"]}},
            ]
        },
        "Rooms": _ref("Rooms"),
        "SageMakerRoleArn": _getatt("SageMakerRole", "Arn"),
        "SecurityGroupId": _ref("SecurityGroupId"),
        "SeismicSourceUri": _sub("s3://${LakeBucket}/sources/seismic/"),
        "SubnetId": _ref("SubnetId"),
        "TaskDefinitionArn": _ref("TaskDefinition"),
        "TopicArn": _ref("PipelineTopic"),
        "TrainingInstanceType": _ref("TrainingInstanceType"),
        "TransformInstanceType": _ref("TransformInstanceType"),
        "WatermarkParameter": _ref("WatermarkParameter"),
    }


def template(definition: Json, rooms: list[str]) -> Json:
    """The whole stack for a rendered state-machine definition."""
    resources: Json = {
        **_lake_buckets(),
        **_catalog(),
        **_delivery(),
        **_glue_job(),
        **_containers(),
        **_sagemaker_role(),
        "PipelineTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "DisplayName": "eventlake pipeline",
                "KmsMasterKeyId": "alias/aws/sns",
            },
        },
        "GateParameter": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": _sub("/${EnvironmentName}/pipeline/gate"),
                "Type": "String",
                "Value": '{"new_data": false, "new_objects": 0, "previous": "never",'
                ' "watermark": "never"}',
                "Description": "The gate's last answer (written by CheckNewData)",
            },
        },
        "WatermarkParameter": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": _sub("/${EnvironmentName}/pipeline/watermark"),
                "Type": "String",
                "Value": "never",
                "Description": "Newest raw object time at the last successful run",
            },
        },
        **_state_machine(definition, substitutions()),
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "eventlake: lake, ingestion, and the Step Functions pipeline"
        " (rendered by `eventlake deploy --dry-run`)",
        "Parameters": parameters(rooms),
        "Mappings": {
            "RcfRegistry": {
                region: {"Account": account} for region, account in sorted(RCF_REGISTRIES.items())
            }
        },
        "Resources": resources,
        "Outputs": {
            "LakeBucketName": {"Value": _ref("LakeBucket")},
            "StateMachineArn": {"Value": _ref("PipelineStateMachine")},
            "TopicArn": {"Value": _ref("PipelineTopic")},
            "ReadingsStreamName": {"Value": _ref("ReadingsStream")},
            "EcsClusterName": {"Value": _ref("EcsCluster")},
            "GlueJobName": {"Value": _ref("ExtractJdbcJob")},
        },
    }
