"""AWS Secrets Manager: replica secrets keep the KMS key they were given."""

from __future__ import annotations

from typing import Any

from moto.secretsmanager.models import FakeSecret, ReplicaSecret

from . import wrap


def _install_replica_kms_key() -> None:
    @wrap(FakeSecret, "create_replicas")
    def create_replicas(
        original: Any, self: FakeSecret, replica_regions: list[dict[str, str]], force_overwrite: bool
    ) -> list[ReplicaSecret]:
        """CreateSecret / ReplicateSecretToRegions: each AddReplicaRegions entry may name the KMS key of the
        replica (DescribeSecret then lists it under ReplicationStatus); moto always reported
        aws/secretsmanager, so Terraform planned to re-create the replica on every run."""
        replicas: list[ReplicaSecret] = original(self, replica_regions, force_overwrite)
        for replica, config in zip(replicas, replica_regions or [], strict=False):
            if config.get("KmsKeyId"):
                replica.config["KmsKeyId"] = config["KmsKeyId"]
        return replicas


def apply() -> None:
    """Install the Secrets Manager patches."""
    _install_replica_kms_key()
