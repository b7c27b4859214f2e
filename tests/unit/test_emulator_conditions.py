"""IAM policy conditions as AWS evaluates them, and TLS-only bucket policies in the emulator."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from nexus_platform.sandbox.emulator_patches.iam_conditions import SECURE_TRANSPORT, condition_matches


@pytest.mark.parametrize(
    ("operator", "values", "context", "expected"),
    [
        ("Bool", {"aws:SecureTransport": "false"}, {"aws:SecureTransport": "false"}, True),
        ("Bool", {"aws:SecureTransport": "false"}, {"aws:SecureTransport": "true"}, False),
        ("Bool", {"aws:SecureTransport": "false"}, {}, False),  # a missing key does not match
        ("BoolIfExists", {"aws:SecureTransport": "false"}, {}, True),
        ("StringEquals", {"aws:SourceAccount": ["1", "2"]}, {"aws:SourceAccount": "2"}, True),
        ("StringNotEquals", {"aws:SourceAccount": "1"}, {"aws:SourceAccount": "1"}, False),
        ("StringNotEquals", {"aws:SourceAccount": "1"}, {}, True),
        ("ArnLike", {"aws:SourceArn": "arn:aws:s3:::logs-*"}, {"aws:SourceArn": "arn:aws:s3:::logs-a"}, True),
        ("NumericLessThan", {"s3:max-keys": "10"}, {"s3:max-keys": "5"}, True),
        ("NumericLessThan", {"s3:max-keys": "10"}, {"s3:max-keys": "x"}, False),
        ("Null", {"aws:TokenIssueTime": "true"}, {}, True),
        ("Null", {"aws:TokenIssueTime": "true"}, {"aws:TokenIssueTime": "t"}, False),
        ("NoSuchOperator", {"k": "v"}, {"k": "v"}, False),
    ],
)
def test_condition_operators(
    operator: str, values: dict[str, object], context: dict[str, str], expected: bool
) -> None:
    assert condition_matches(operator, values, context) is expected


@pytest.fixture
def tls_only_bucket(aws: None) -> object:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="state")
    s3.put_object(Bucket="state", Key="k", Body=b"v")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::state", "arn:aws:s3:::state/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    s3.put_bucket_policy(Bucket="state", Policy=json.dumps(policy))
    return s3


def test_tls_only_policy_allows_https_and_denies_plain_http(tls_only_bucket: object) -> None:
    s3 = tls_only_bucket
    token = SECURE_TRANSPORT.set("true")
    try:
        assert s3.get_object(Bucket="state", Key="k")["Body"].read() == b"v"  # type: ignore[attr-defined]
    finally:
        SECURE_TRANSPORT.reset(token)
    token = SECURE_TRANSPORT.set("false")
    try:
        with pytest.raises(ClientError) as denied:
            s3.get_object(Bucket="state", Key="k")  # type: ignore[attr-defined]
        assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    finally:
        SECURE_TRANSPORT.reset(token)
