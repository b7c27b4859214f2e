"""S3, Secrets Manager and Route 53 patches of the sandbox emulator (boto3 against moto with the patches
applied)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::123456789012:role/replication"


def test_bucket_replication_rules_round_trip(aws: None) -> None:
    s3: Any = boto3.client("s3", region_name="us-east-1")
    for bucket in ("nexus-src", "nexus-dst"):
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    rule = {
        "ID": "to-dr",
        "Priority": 1,
        "Status": "Enabled",
        "Filter": {"Prefix": "state/"},
        "DeleteMarkerReplication": {"Status": "Enabled"},
        "SourceSelectionCriteria": {
            "ReplicaModifications": {"Status": "Enabled"},
            "SseKmsEncryptedObjects": {"Status": "Enabled"},
        },
        "Destination": {
            "Bucket": "arn:aws:s3:::nexus-dst",
            "EncryptionConfiguration": {"ReplicaKmsKeyID": "arn:aws:kms:us-east-1:123456789012:key/k"},
            "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": 15}},
            "Metrics": {"Status": "Enabled", "EventThreshold": {"Minutes": 15}},
        },
    }
    s3.put_bucket_replication(Bucket="nexus-src", ReplicationConfiguration={"Role": ROLE, "Rules": [rule]})
    config = s3.get_bucket_replication(Bucket="nexus-src")["ReplicationConfiguration"]
    assert config["Role"] == ROLE
    assert config["Rules"] == [rule]


def test_bucket_logging_allowed_by_policy_with_wildcard(aws: None) -> None:
    s3: Any = boto3.client("s3", region_name="us-east-1")
    for bucket in ("nexus-app", "nexus-logs"):
        s3.create_bucket(Bucket=bucket)
    logging = {"LoggingEnabled": {"TargetBucket": "nexus-logs", "TargetPrefix": "s3-access/nexus-app/"}}
    # No grant at all: rejected, as AWS does.
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_logging(Bucket="nexus-app", BucketLoggingStatus=logging)
    assert exc.value.response["Error"]["Code"] == "InvalidTargetBucketForLogging"

    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::nexus-logs", "arn:aws:s3:::nexus-logs/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
            {
                "Effect": "Allow",
                "Principal": {"Service": ["logging.s3.amazonaws.com"]},
                "Action": ["s3:PutObject"],
                "Resource": ["arn:aws:s3:::nexus-logs/s3-access/*"],
                "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
            },
        ],
    }
    s3.put_bucket_policy(Bucket="nexus-logs", Policy=json.dumps(policy))
    s3.put_bucket_logging(Bucket="nexus-app", BucketLoggingStatus=logging)
    assert s3.get_bucket_logging(Bucket="nexus-app")["LoggingEnabled"] == logging["LoggingEnabled"]

    # A policy for another prefix does not cover this one.
    other = {"LoggingEnabled": {"TargetBucket": "nexus-logs", "TargetPrefix": "elsewhere/"}}
    with pytest.raises(ClientError):
        s3.put_bucket_logging(Bucket="nexus-app", BucketLoggingStatus=other)


def test_secret_replica_keeps_its_kms_key(aws: None) -> None:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    key = "arn:aws:kms:eu-west-1:123456789012:key/dr"
    client.create_secret(
        Name="nexus/cache-auth",
        SecretString="x" * 32,
        AddReplicaRegions=[{"Region": "eu-west-1", "KmsKeyId": key}],
    )
    status = client.describe_secret(SecretId="nexus/cache-auth")["ReplicationStatus"]
    assert [(s["Region"], s["KmsKeyId"], s["Status"]) for s in status] == [("eu-west-1", key, "InSync")]


def test_route53_query_logging_to_log_group_arn(aws: None) -> None:
    logs = boto3.client("logs", region_name="us-east-1")
    route53 = boto3.client("route53", region_name="us-east-1")
    logs.create_log_group(logGroupName="/aws/route53/example.com")
    arn = logs.describe_log_groups()["logGroups"][0]["arn"].removesuffix(":*")
    zone = route53.create_hosted_zone(Name="example.com", CallerReference="r")["HostedZone"]["Id"].split("/")[
        -1
    ]

    config = route53.create_query_logging_config(HostedZoneId=zone, CloudWatchLogsLogGroupArn=arn)[
        "QueryLoggingConfig"
    ]
    assert config["CloudWatchLogsLogGroupArn"] == arn
    assert route53.get_query_logging_config(Id=config["Id"])["QueryLoggingConfig"]["HostedZoneId"] == zone

    with pytest.raises(ClientError) as exc:
        route53.create_query_logging_config(HostedZoneId=zone, CloudWatchLogsLogGroupArn=arn)
    assert exc.value.response["Error"]["Code"] == "QueryLoggingConfigAlreadyExists"
    other_zone = route53.create_hosted_zone(Name="example.org", CallerReference="s")["HostedZone"]["Id"]
    with pytest.raises(ClientError) as exc:
        route53.create_query_logging_config(
            HostedZoneId=other_zone.split("/")[-1],
            CloudWatchLogsLogGroupArn=arn.replace("example.com", "nothing"),
        )
    assert exc.value.response["Error"]["Code"] == "NoSuchCloudWatchLogsLogGroup"
