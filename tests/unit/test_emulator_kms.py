"""KMS ReplicateKey patch of the sandbox emulator (boto3 against moto with the patches applied)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from nexus_platform.sandbox.emulator_patches import apply_all


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}.items():
        monkeypatch.setenv(name, value)
    apply_all()
    with mock_aws():
        yield


def test_replicate_key_keeps_primary(aws: None) -> None:
    primary_client = boto3.client("kms", region_name="us-east-1")
    replica_client = boto3.client("kms", region_name="eu-west-1")
    key = primary_client.create_key(MultiRegion=True, Description="mrk")["KeyMetadata"]

    replica = primary_client.replicate_key(KeyId=key["KeyId"], ReplicaRegion="eu-west-1")[
        "ReplicaKeyMetadata"
    ]
    assert replica["Arn"].startswith("arn:aws:kms:eu-west-1:")

    # Describing the replica must not turn the primary into a replica (moto's shared dict did).
    described_replica = replica_client.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    assert described_replica["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    assert described_replica["MultiRegionConfiguration"]["PrimaryKey"]["Arn"] == key["Arn"]

    described_primary = primary_client.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
    config = described_primary["MultiRegionConfiguration"]
    assert described_primary["Arn"] == key["Arn"]
    assert config["MultiRegionKeyType"] == "PRIMARY"
    assert [r["Region"] for r in config["ReplicaKeys"]] == ["eu-west-1"]
