"""KMS ReplicateKey patch of the sandbox emulator (boto3 against moto with the patches applied)."""

from __future__ import annotations

import boto3


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
