"""AWS KMS: ReplicateKey must leave the primary key a PRIMARY key."""

from __future__ import annotations

import copy
from typing import Any

from moto.kms.models import Key, KmsBackend, kms_backends

from . import wrap


def _install_replicate_key() -> None:
    @wrap(KmsBackend, "replicate_key")
    def replicate_key(original: Any, self: KmsBackend, key_id: str, replica_region: str) -> Key:
        """ReplicateKey: moto's replica is a shallow copy that shares the primary's multi-Region
        configuration, and its DescribeKey then rewrites that shared dict to MultiRegionKeyType=REPLICA,
        turning the primary into a replica too. AWS keeps two keys: the primary lists the replica under
        ReplicaKeys, and the replica (same key id, ARN in its own region) says REPLICA with the same
        PrimaryKey. The replica gets its own configuration, grants, rotations and aliases, and the primary's
        configuration says PRIMARY again."""
        primary: Key = self.keys[self.get_key_id(key_id)]
        replica: Key = original(self, key_id, replica_region)
        if primary.multi_region:
            shared = primary.multi_region_configuration
            shared["MultiRegionKeyType"] = "PRIMARY"
            replica.multi_region_configuration = copy.deepcopy(shared)
            replica.multi_region_configuration["MultiRegionKeyType"] = "REPLICA"
        replica.grants = {}
        replica.rotations = []
        replica.aliases = {}
        replica.key_rotation_status = False
        # Tags and the policy of the replica are those of the request (moto's response handler applies the
        # policy; tags are per-region in moto's tagger).
        kms_backends[self.account_id][replica_region].keys[replica.id] = replica
        return replica


def apply() -> None:
    """Install the KMS patches."""
    _install_replicate_key()
