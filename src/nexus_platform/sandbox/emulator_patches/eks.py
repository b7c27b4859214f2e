"""Amazon EKS: add-ons, Pod Identity associations, update tracking, and the cluster / node group settings moto
drops."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import secrets
import string
import uuid
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.ec2.models import ec2_backends
from moto.eks import urls as eks_urls
from moto.eks.exceptions import (
    InvalidParameterException,
    InvalidRequestException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from moto.eks.models import Cluster, EKSBackend, Nodegroup
from moto.eks.responses import EKSResponse
from moto.iam.exceptions import NotFoundException as IamNotFound
from moto.iam.models import iam_backends

from . import add_action, add_routes, extend, kept, wrap

ADDON_ARN = "arn:{partition}:eks:{region}:{account}:addon/{cluster}/{addon}/{uuid}"
POD_IDENTITY_ARN = "arn:{partition}:eks:{region}:{account}:podidentityassociation/{cluster}/{association}"

# What DescribeAddonVersions offers (a small, fixed catalogue: the add-ons an EKS cluster commonly installs).
ADDON_CATALOGUE: dict[str, dict[str, str]] = {
    "vpc-cni": {"type": "networking", "version": "v1.19.2-eksbuild.1"},
    "coredns": {"type": "networking", "version": "v1.11.4-eksbuild.2"},
    "kube-proxy": {"type": "networking", "version": "v1.31.3-eksbuild.2"},
    "aws-ebs-csi-driver": {"type": "storage", "version": "v1.38.1-eksbuild.1"},
    "eks-pod-identity-agent": {"type": "security", "version": "v1.3.4-eksbuild.1"},
    "amazon-cloudwatch-observability": {"type": "observability", "version": "v2.6.0-eksbuild.1"},
    "snapshot-controller": {"type": "storage", "version": "v8.1.0-eksbuild.2"},
    "metrics-server": {"type": "observability", "version": "v0.7.2-eksbuild.3"},
}
DEFAULT_ADDON_VERSION = "v1.0.0-eksbuild.1"
KUBERNETES_VERSIONS = [f"1.{minor}" for minor in range(27, 36)]


class Addon:
    """An EKS add-on (API shape `Addon`)."""

    def __init__(self, backend: EKSBackend, cluster: Cluster, params: dict[str, Any]) -> None:
        self.addon_name: str = params["addonName"]
        self.cluster_name = cluster.name
        self.status = "ACTIVE"
        catalogue = ADDON_CATALOGUE.get(self.addon_name, {})
        self.addon_version: str = params.get("addonVersion") or catalogue.get(
            "version", DEFAULT_ADDON_VERSION
        )
        self.health: dict[str, Any] = {"issues": []}
        self.addon_arn = ADDON_ARN.format(
            partition=backend.partition,
            region=backend.region_name,
            account=backend.account_id,
            cluster=cluster.name,
            addon=self.addon_name,
            uuid=uuid.uuid4(),
        )
        self.created_at = utcnow()
        self.modified_at = self.created_at
        self.service_account_role_arn: str | None = params.get("serviceAccountRoleArn")
        self.tags: dict[str, str] = dict(params.get("tags") or {})
        self.configuration_values: str | None = params.get("configurationValues")
        self.pod_identity_associations: list[str] = [
            f"arn:{backend.partition}:eks:{backend.region_name}:{backend.account_id}:podidentityassociation/"
            f"{cluster.name}/a-{uuid.uuid4().hex[:17]}"
            for _ in params.get("podIdentityAssociations") or []
        ]
        self.owner = "aws"
        self.publisher = "eks"


def _cluster(backend: EKSBackend, name: str) -> Cluster:
    return backend.describe_cluster(name=name)


def _addons(cluster: Cluster) -> dict[str, Addon]:
    return kept(cluster, "nexus_addons")


def _addon(cluster: Cluster, addon_name: str) -> Addon:
    try:
        return _addons(cluster)[addon_name]
    except KeyError:
        raise ResourceNotFoundException(
            clusterName=cluster.name,
            nodegroupName=None,
            fargateProfileName=None,
            addonName=addon_name,
            message=f"No addon: {addon_name} found in cluster: {cluster.name}",
        ) from None


def _record_update(
    cluster: Cluster, update_type: str, params: list[dict[str, str]], **ids: str | None
) -> dict[str, Any]:
    """Remember an update (completed at once) so that DescribeUpdate can report it."""
    update: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "status": "Successful",
        "type": update_type,
        "params": params,
        "createdAt": utcnow(),
        "errors": [],
    }
    kept(cluster, "nexus_updates")[update["id"]] = {"update": update, **ids}
    return update


# --- add-ons ------------------------------------------------------------------------------------------------


def create_addon(self: EKSResponse) -> ActionResult:
    """CreateAddon: moto has no add-ons at all, so aws_eks_addon could not be created.

    AWS creates the add-on (status CREATING, then ACTIVE); the emulator makes it ACTIVE at once.
    """
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    params = {key: self._get_param(key) for key in _ADDON_PARAMS}
    addons = _addons(cluster)
    if params["addonName"] in addons:
        raise ResourceInUseException(
            clusterName=cluster.name,
            nodegroupName=None,
            addonName=params["addonName"],
            message=f"Addon already exists with name: {params['addonName']}",
        )
    addon = Addon(self.eks_backend, cluster, params)
    addons[addon.addon_name] = addon
    return ActionResult({"addon": addon})


_ADDON_PARAMS = (
    "addonName",
    "addonVersion",
    "serviceAccountRoleArn",
    "tags",
    "configurationValues",
    "podIdentityAssociations",
)


def describe_addon(self: EKSResponse) -> ActionResult:
    """DescribeAddon: see create_addon."""
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    return ActionResult({"addon": _addon(cluster, self._get_param("addonName"))})


def delete_addon(self: EKSResponse) -> ActionResult:
    """DeleteAddon: AWS answers with the add-on in status DELETING and removes it; so does the emulator, at
    once."""
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    addon = _addon(cluster, self._get_param("addonName"))
    del _addons(cluster)[addon.addon_name]
    deleted = copy.copy(addon)
    deleted.status = "DELETING"
    return ActionResult({"addon": deleted})


def list_addons(self: EKSResponse) -> ActionResult:
    """ListAddons: the names of the cluster's add-ons (one page)."""
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    return ActionResult({"addons": sorted(_addons(cluster))})


def update_addon(self: EKSResponse) -> ActionResult:
    """UpdateAddon: applies version / role / configuration values and returns a (completed) AddonUpdate."""
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    addon = _addon(cluster, self._get_param("addonName"))
    changes: list[dict[str, str]] = []
    for key, attr, kind in (
        ("addonVersion", "addon_version", "AddonVersion"),
        ("serviceAccountRoleArn", "service_account_role_arn", "ServiceAccountRoleArn"),
        ("configurationValues", "configuration_values", "ConfigurationValues"),
    ):
        value = self._get_param(key)
        if value is not None:
            setattr(addon, attr, value)
            changes.append({"type": kind, "value": str(value)})
    addon.modified_at = utcnow()
    update = _record_update(cluster, "AddonUpdate", changes, addonName=addon.addon_name)
    return ActionResult({"update": update})


def describe_addon_versions(self: EKSResponse) -> ActionResult:
    """DescribeAddonVersions: a fixed catalogue (one version per add-on, compatible with every supported
    release)."""
    wanted = self._get_param("addonName")
    k8s = self._get_param("kubernetesVersion")
    versions = [k8s] if k8s else KUBERNETES_VERSIONS
    addons = [
        {
            "addonName": name,
            "type": entry["type"],
            "owner": "aws",
            "publisher": "eks",
            "addonVersions": [
                {
                    "addonVersion": entry["version"],
                    "architecture": ["amd64", "arm64"],
                    "compatibilities": [
                        {"clusterVersion": v, "platformVersions": ["*"], "defaultVersion": True}
                        for v in versions
                    ],
                    "requiresConfiguration": False,
                }
            ],
        }
        for name, entry in sorted(ADDON_CATALOGUE.items())
        if not wanted or name == wanted
    ]
    return ActionResult({"addons": addons})


# --- Pod Identity associations ------------------------------------------------------------------------------


class PodIdentityAssociation:
    """An EKS Pod Identity association (API shape `PodIdentityAssociation`; the list operation's
    `PodIdentityAssociationSummary` is a subset of its members, so the same object serializes as both)."""

    def __init__(self, backend: EKSBackend, cluster: Cluster, params: dict[str, Any]) -> None:
        # AWS: "a-" and 17 lower-case letters and digits.
        alphabet = string.ascii_lowercase + string.digits
        self.association_id = "a-" + "".join(secrets.choice(alphabet) for _ in range(17))
        self.association_arn = POD_IDENTITY_ARN.format(
            partition=backend.partition,
            region=backend.region_name,
            account=backend.account_id,
            cluster=cluster.name,
            association=self.association_id,
        )
        self.cluster_name = cluster.name
        self.namespace: str = params["namespace"]
        self.service_account: str = params["serviceAccount"]
        self.tags: dict[str, str] = dict(params.get("tags") or {})
        self.created_at = utcnow()
        self.owner_arn: str | None = None
        self.role_arn = ""
        self.disable_session_tags = False
        self.target_role_arn: str | None = None
        self.external_id: str | None = None
        self.policy: str | None = None
        self.update(params)
        self.modified_at = self.created_at

    def update(self, params: dict[str, Any]) -> None:
        """Apply the members UpdatePodIdentityAssociation may change (CreatePodIdentityAssociation sets
        them)."""
        if params.get("roleArn"):
            self.role_arn = params["roleArn"]
        if params.get("disableSessionTags") is not None:
            self.disable_session_tags = bool(params["disableSessionTags"])
        if "targetRoleArn" in params:
            self.target_role_arn = params["targetRoleArn"] or None
            # AWS generates the external id the target role's trust policy must require (role chaining).
            self.external_id = str(uuid.uuid4()) if self.target_role_arn else None
        if params.get("policy") is not None:
            self.policy = params["policy"]
        self.modified_at = utcnow()


_POD_IDENTITY_PARAMS = (
    "namespace",
    "serviceAccount",
    "roleArn",
    "tags",
    "disableSessionTags",
    "targetRoleArn",
    "policy",
)


def _associations(cluster: Cluster) -> dict[str, PodIdentityAssociation]:
    return kept(cluster, "nexus_pod_identity_associations")


def _association(cluster: Cluster, association_id: str) -> PodIdentityAssociation:
    try:
        return _associations(cluster)[association_id]
    except KeyError:
        raise ResourceNotFoundException(
            clusterName=cluster.name,
            message=f"No Pod Identity Association found with id {association_id} in cluster {cluster.name}",
        ) from None


def _require_role(backend: EKSBackend, role_arn: str | None) -> None:
    """AWS refuses an association whose role does not exist (the provider retries this message while IAM
    propagates)."""
    if not role_arn:
        return
    try:
        iam_backends[backend.account_id][backend.partition].get_role_by_arn(role_arn)
    except IamNotFound:
        raise InvalidParameterException(message="Role provided in the request does not exist") from None


def _pod_identity_params(self: EKSResponse) -> dict[str, Any]:
    return {key: self._get_param(key) for key in _POD_IDENTITY_PARAMS}


def create_pod_identity_association(self: EKSResponse) -> ActionResult:
    """CreatePodIdentityAssociation: moto has no EKS Pod Identity, so aws_eks_pod_identity_association could
    not be created.

    As AWS: one association per ServiceAccount (namespace + name) of a cluster, and the role must exist.
    """
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    params = _pod_identity_params(self)
    associations = _associations(cluster)
    for existing in associations.values():
        if (existing.namespace, existing.service_account) == (params["namespace"], params["serviceAccount"]):
            raise ResourceInUseException(
                clusterName=cluster.name,
                message=f"Association already exists: {existing.association_id}",
            )
    _require_role(self.eks_backend, params["roleArn"])
    association = PodIdentityAssociation(self.eks_backend, cluster, params)
    associations[association.association_id] = association
    return ActionResult({"association": association})


def describe_pod_identity_association(self: EKSResponse) -> ActionResult:
    """DescribePodIdentityAssociation: see create_pod_identity_association."""
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    return ActionResult({"association": _association(cluster, self._get_param("associationId"))})


def update_pod_identity_association(self: EKSResponse) -> ActionResult:
    """UpdatePodIdentityAssociation: the role (and session-tag / target-role settings) of an association; its
    ServiceAccount cannot change."""
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    association = _association(cluster, self._get_param("associationId"))
    params = {key: self._get_param(key) for key in ("roleArn", "disableSessionTags", "policy")}
    if self._get_param("targetRoleArn") is not None:
        params["targetRoleArn"] = self._get_param("targetRoleArn")
    _require_role(self.eks_backend, params["roleArn"])
    association.update(params)
    return ActionResult({"association": association})


def delete_pod_identity_association(self: EKSResponse) -> ActionResult:
    """DeletePodIdentityAssociation: removes the association and answers with it."""
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    association = _association(cluster, self._get_param("associationId"))
    del _associations(cluster)[association.association_id]
    return ActionResult({"association": association})


def list_pod_identity_associations(self: EKSResponse) -> ActionResult:
    """ListPodIdentityAssociations: summaries, optionally filtered by namespace and ServiceAccount, paginated
    by maxResults / nextToken."""
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    namespace, service_account = self._get_param("namespace"), self._get_param("serviceAccount")
    matching = [
        association
        for association in _associations(cluster).values()
        if (namespace is None or association.namespace == namespace)
        and (service_account is None or association.service_account == service_account)
    ]
    max_results = int(self._get_param("maxResults") or 100)
    token = self._get_param("nextToken") or "0"
    if not token.isdigit() or not 1 <= max_results <= 100:
        raise InvalidParameterException(message="Invalid maxResults or nextToken")
    start = int(token)
    result: dict[str, Any] = {"associations": matching[start : start + max_results]}
    if start + max_results < len(matching):
        result["nextToken"] = str(start + max_results)
    return ActionResult(result)


# --- access entries -----------------------------------------------------------------------------------------

#: EKS's access policies (ListAccessPolicies); an association must name one of them.
ACCESS_POLICIES = frozenset(
    {
        "AmazonEKSClusterAdminPolicy",
        "AmazonEKSAdminPolicy",
        "AmazonEKSEditPolicy",
        "AmazonEKSViewPolicy",
        "AmazonEKSAdminViewPolicy",
    }
)


class AccessEntry:
    """An EKS access entry (API shape `AccessEntry`) and the access policies associated with it."""

    def __init__(self, backend: EKSBackend, cluster: Cluster, params: dict[str, Any]) -> None:
        principal: str = params["principalArn"]
        # AWS: access-entry/<cluster>/<role|user>/<account>/<name>/<uuid>
        kind, _, name = principal.split(":", 5)[5].partition("/")
        self.access_entry_arn = (
            f"arn:{backend.partition}:eks:{backend.region_name}:{backend.account_id}:access-entry/"
            f"{cluster.name}/{kind}/{backend.account_id}/{name}/{uuid.uuid4()}"
        )
        self.cluster_name = cluster.name
        self.principal_arn = principal
        self.type: str = params.get("type") or "STANDARD"
        self.kubernetes_groups: list[str] = list(params.get("kubernetesGroups") or [])
        # AWS derives the Kubernetes user name from the principal when none is given.
        self.username: str = params.get("username") or f"{principal}"
        self.tags: dict[str, str] = dict(params.get("tags") or {})
        self.created_at = self.modified_at = utcnow()
        self.policies: dict[str, dict[str, Any]] = {}

    def shape(self) -> dict[str, Any]:
        return {
            "clusterName": self.cluster_name,
            "principalArn": self.principal_arn,
            "kubernetesGroups": self.kubernetes_groups,
            "accessEntryArn": self.access_entry_arn,
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
            "tags": self.tags,
            "username": self.username,
            "type": self.type,
        }


def _access_entries(cluster: Cluster) -> dict[str, AccessEntry]:
    return kept(cluster, "nexus_access_entries")


def _access_entry(cluster: Cluster, principal_arn: str) -> AccessEntry:
    try:
        return _access_entries(cluster)[principal_arn]
    except KeyError:
        raise ResourceNotFoundException(
            clusterName=cluster.name,
            message="The specified principalArn could not be found. You can view your available access "
            f"entries with 'list-access-entries'. ({principal_arn})",
        ) from None


def _require_principal(backend: EKSBackend, principal_arn: str) -> None:
    """AWS refuses an access entry for a principal that is not an IAM role or user ARN."""
    parts = principal_arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith(("role/", "user/")):
        raise InvalidParameterException(
            message=f"The principalArn parameter format is not valid: {principal_arn}"
        )
    if parts[5].startswith("role/"):
        _require_role(backend, principal_arn)


def create_access_entry(self: EKSResponse) -> ActionResult:
    """CreateAccessEntry: moto has no access entries, so aws_eks_access_entry could not be created. As AWS:
    one per principal of a cluster, the principal must be an existing IAM role (or a user), and the cluster's
    authentication mode must admit the API."""
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    mode = (getattr(cluster, "access_config", None) or {}).get("authenticationMode", "CONFIG_MAP")
    if mode == "CONFIG_MAP":
        raise InvalidRequestException(
            message="The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to "
            "perform this operation."
        )
    params = {
        key: self._get_param(key) for key in ("principalArn", "kubernetesGroups", "tags", "username", "type")
    }
    if params["principalArn"] in _access_entries(cluster):
        raise ResourceInUseException(
            clusterName=cluster.name,
            message="The specified access entry resource is already in use on this cluster.",
        )
    _require_principal(self.eks_backend, params["principalArn"])
    entry = AccessEntry(self.eks_backend, cluster, params)
    _access_entries(cluster)[entry.principal_arn] = entry
    return ActionResult({"accessEntry": entry.shape()})


def describe_access_entry(self: EKSResponse) -> ActionResult:
    """DescribeAccessEntry: see create_access_entry."""
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    return ActionResult({"accessEntry": _access_entry(cluster, self._get_param("principalArn")).shape()})


def update_access_entry(self: EKSResponse) -> ActionResult:
    """UpdateAccessEntry: the Kubernetes groups and user name of an entry."""
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    entry = _access_entry(cluster, self._get_param("principalArn"))
    if self._get_param("kubernetesGroups") is not None:
        entry.kubernetes_groups = list(self._get_param("kubernetesGroups"))
    if self._get_param("username"):
        entry.username = self._get_param("username")
    entry.modified_at = utcnow()
    return ActionResult({"accessEntry": entry.shape()})


def delete_access_entry(self: EKSResponse) -> ActionResult:
    """DeleteAccessEntry: removes the entry and its access policy associations."""
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    entry = _access_entry(cluster, self._get_param("principalArn"))
    del _access_entries(cluster)[entry.principal_arn]
    return EmptyResult()


def list_access_entries(self: EKSResponse) -> ActionResult:
    """ListAccessEntries: the principals with an entry (optionally only those with a given policy)."""
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    wanted = self._get_param("associatedPolicyArn")
    principals = [
        e.principal_arn for e in _access_entries(cluster).values() if not wanted or wanted in e.policies
    ]
    return ActionResult({"accessEntries": principals})


def associate_access_policy(self: EKSResponse) -> ActionResult:
    """AssociateAccessPolicy: one of EKS's access policies for the whole cluster or some namespaces; an
    association of the same policy is replaced (AWS updates its scope)."""
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    entry = _access_entry(cluster, self._get_param("principalArn"))
    policy_arn: str = self._get_param("policyArn") or ""
    if policy_arn.rsplit("/", 1)[-1] not in ACCESS_POLICIES or ":cluster-access-policy/" not in policy_arn:
        raise InvalidParameterException(message=f"The policyArn parameter is not valid: {policy_arn}")
    scope = dict(self._get_param("accessScope") or {})
    if scope.get("type") not in ("cluster", "namespace"):
        raise InvalidParameterException(message="accessScope.type must be cluster or namespace")
    if scope["type"] == "namespace" and not scope.get("namespaces"):
        raise InvalidParameterException(message="A namespace access scope needs at least one namespace")
    now = utcnow()
    earlier = entry.policies.get(policy_arn)
    association = {
        "policyArn": policy_arn,
        "accessScope": {"type": scope["type"], "namespaces": list(scope.get("namespaces") or [])},
        "associatedAt": earlier["associatedAt"] if earlier else now,
        "modifiedAt": now,
    }
    entry.policies[policy_arn] = association
    return ActionResult(
        {
            "clusterName": cluster.name,
            "principalArn": entry.principal_arn,
            "associatedAccessPolicy": association,
        }
    )


def list_associated_access_policies(self: EKSResponse) -> ActionResult:
    """ListAssociatedAccessPolicies: the entry's policies (one page)."""
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    entry = _access_entry(cluster, self._get_param("principalArn"))
    return ActionResult(
        {
            "clusterName": cluster.name,
            "principalArn": entry.principal_arn,
            "associatedAccessPolicies": list(entry.policies.values()),
        }
    )


def disassociate_access_policy(self: EKSResponse) -> ActionResult:
    """DisassociateAccessPolicy: removes one policy from the entry (idempotent, as AWS)."""
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    entry = _access_entry(cluster, self._get_param("principalArn"))
    entry.policies.pop(self._get_param("policyArn"), None)
    return EmptyResult()


# --- updates ------------------------------------------------------------------------------------------------


def describe_update(self: EKSResponse) -> ActionResult:
    """DescribeUpdate: moto does not keep updates, so provider waiters after Update* calls failed.

    Every update the emulator applies completes at once (status Successful).
    """
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    update_id = self._get_param("updateId")
    updates = kept(cluster, "nexus_updates")
    if update_id not in updates:
        raise ResourceNotFoundException(
            clusterName=cluster.name,
            nodegroupName=self._get_param("nodegroupName"),
            fargateProfileName=None,
            addonName=self._get_param("addonName"),
            message=f"No update found for ID: {update_id}",
        )
    return ActionResult({"update": updates[update_id]["update"]})


def list_updates(self: EKSResponse) -> ActionResult:
    """ListUpdates: the ids of the updates of the cluster (or of one node group / add-on of it)."""
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    nodegroup, addon = self._get_param("nodegroupName"), self._get_param("addonName")
    updates = kept(cluster, "nexus_updates")
    ids = [
        update_id
        for update_id, entry in updates.items()
        if entry.get("nodegroupName") == nodegroup and entry.get("addonName") == addon
    ]
    return ActionResult({"updateIds": ids})


def update_cluster_version(self: EKSResponse) -> ActionResult:
    """UpdateClusterVersion: not in moto; sets the Kubernetes version and returns a (completed)
    VersionUpdate."""
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    version = self._get_param("version")
    cluster.version = version
    update = _record_update(cluster, "VersionUpdate", [{"type": "Version", "value": version}])
    return ActionResult({"update": update})


def update_nodegroup_version(self: EKSResponse) -> ActionResult:
    """UpdateNodegroupVersion: not in moto; sets version / release version and returns a completed update."""
    cluster = _cluster(self.eks_backend, self._get_param("name"))
    nodegroup = self.eks_backend.describe_nodegroup(cluster.name, self._get_param("nodegroupName"))
    changes = []
    for key, attr, kind in (
        ("version", "version", "Version"),
        ("releaseVersion", "release_version", "ReleaseVersion"),
    ):
        value = self._get_param(key)
        if value:
            setattr(nodegroup, attr, value)
            changes.append({"type": kind, "value": value})
    if self._get_param("launchTemplate"):
        nodegroup.launch_template = self._get_param("launchTemplate")
    nodegroup.modified_at = utcnow()
    update = _record_update(cluster, "VersionUpdate", changes, nodegroupName=nodegroup.nodegroup_name)
    return ActionResult({"update": update})


# --- cluster / node group settings moto drops ---------------------------------------------------------------

# Cluster members that CreateCluster/UpdateClusterConfig accept and DescribeCluster returns, but moto ignores.
CLUSTER_EXTRA_SETTINGS = (
    "accessConfig",
    "upgradePolicy",
    "zonalShiftConfig",
    "computeConfig",
    "storageConfig",
)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _complete_vpc_config(backend: EKSBackend, cluster: Cluster) -> None:
    """Fill the resourcesVpcConfig members AWS always returns (moto echoes only what was sent)."""
    vpc_config: dict[str, Any] = dict(cluster.resources_vpc_config or {})
    vpc_config.setdefault("subnetIds", [])
    vpc_config.setdefault("securityGroupIds", [])
    vpc_config.setdefault("endpointPublicAccess", True)
    vpc_config.setdefault("endpointPrivateAccess", False)
    vpc_config.setdefault("publicAccessCidrs", ["0.0.0.0/0"])
    if "vpcId" not in vpc_config or "clusterSecurityGroupId" not in vpc_config:
        ec2 = ec2_backends[backend.account_id][backend.region_name]
        known = {subnet.id: subnet for subnet in ec2.describe_subnets()}
        vpc_ids = [known[s].vpc_id for s in vpc_config["subnetIds"] if s in known]
        vpc_id = vpc_ids[0] if vpc_ids else None  # unknown subnets leave the VPC unknown, as moto did
        if vpc_id:
            vpc_config.setdefault("vpcId", vpc_id)
            # AWS creates a cluster security group (eks-cluster-sg-<name>-<n>) in the cluster's VPC.
            group = ec2.create_security_group(
                name=f"eks-cluster-sg-{cluster.name}-{uuid.uuid4().int % 10**10}",
                description="EKS created security group applied to ENI that is attached to EKS Control Plane "
                "master nodes, as well as any managed workloads.",
                vpc_id=vpc_id,
                tags={f"kubernetes.io/cluster/{cluster.name}": "owned", "aws:eks:cluster-name": cluster.name},
            )
            vpc_config.setdefault("clusterSecurityGroupId", group.id)
    cluster.resources_vpc_config = vpc_config


def _store_cluster_settings(cluster: Cluster, params: dict[str, Any], creating: bool) -> None:
    for key in CLUSTER_EXTRA_SETTINGS:
        value = params.get(key)
        attr = _snake(key)
        if value is not None:
            merged = dict(getattr(cluster, attr, None) or {})
            merged.update(value)
            setattr(cluster, attr, merged)
        elif creating:
            setattr(cluster, attr, None)
    if creating:
        # AWS defaults (API reference, CreateCluster): authenticationMode CONFIG_MAP, bootstrap admin true;
        # upgradePolicy.supportType EXTENDED.
        access = dict(getattr(cluster, "access_config", None) or {})
        access.setdefault("authenticationMode", "CONFIG_MAP")
        access.setdefault("bootstrapClusterCreatorAdminPermissions", True)
        extend(cluster, access_config=access)
        upgrade = dict(getattr(cluster, "upgrade_policy", None) or {})
        upgrade.setdefault("supportType", "EXTENDED")
        extend(cluster, upgrade_policy=upgrade)
        network = dict(cluster.kubernetes_network_config or {})
        network.setdefault("serviceIpv4Cidr", "172.20.0.0/16")
        network.setdefault("ipFamily", "ipv4")
        cluster.kubernetes_network_config = network


def cluster_ca_data() -> str:
    """DescribeCluster certificateAuthority.data: AWS gives the base64 of the cluster CA's PEM certificate
    (subject CN=kubernetes), which a kubeconfig's certificate-authority-data carries; moto gave 1400 random
    letters, which decode to no certificate at all. A fresh self-signed CA per cluster (it signs nothing: the
    emulator serves no Kubernetes API)."""
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.PEM)).decode()


def _install_cluster_settings() -> None:
    @wrap(EKSResponse, "create_cluster")
    def create_cluster(original: Any, self: EKSResponse) -> ActionResult:
        """CreateCluster: keep accessConfig, upgradePolicy, zonalShiftConfig, compute/storageConfig and the
        full resourcesVpcConfig (vpcId, cluster security group, endpoint access), which moto drops, so that
        DescribeCluster returns what AWS returns and Terraform sees no diff on every plan; and a real CA
        certificate (see cluster_ca_data)."""
        result: ActionResult = original(self)
        cluster = self.eks_backend.describe_cluster(self._get_param("name"))
        _store_cluster_settings(cluster, {key: self._get_param(key) for key in CLUSTER_EXTRA_SETTINGS}, True)
        _complete_vpc_config(self.eks_backend, cluster)
        cluster.certificate_authority = {"data": cluster_ca_data()}
        return result

    def update_cluster_config(self: EKSResponse) -> ActionResult:
        """UpdateClusterConfig: AWS returns an `update` (moto returned the cluster) and accepts accessConfig,
        upgradePolicy, ... which moto ignored; the update is recorded so DescribeUpdate can report it.
        """
        name = self._get_param("name")
        cluster = self.eks_backend.describe_cluster(name)
        vpc_config = self._get_param("resourcesVpcConfig")
        if vpc_config:
            merged = dict(cluster.resources_vpc_config or {})
            merged.update(vpc_config)
            vpc_config = merged
        self.eks_backend.update_cluster_config(
            name=name,
            resources_vpc_config=vpc_config,
            logging=self._get_param("logging"),
            client_request_token=self._get_param("clientRequestToken"),
            kubernetes_network_config=self._get_param("kubernetesNetworkConfig"),
            remote_network_config=self._get_param("remoteNetworkConfig"),
        )
        params = {key: self._get_param(key) for key in CLUSTER_EXTRA_SETTINGS}
        _store_cluster_settings(cluster, params, False)
        changes = [
            {"type": key[0].upper() + key[1:], "value": str(value)}
            for key, value in {
                **params,
                "resourcesVpcConfig": vpc_config,
                "logging": self._get_param("logging"),
            }.items()
            if value is not None
        ]
        update = _record_update(cluster, "ConfigUpdate", changes)
        return ActionResult({"update": update})

    add_action(EKSResponse, update_cluster_config, replace=True)


def _install_nodegroup_settings() -> None:
    @wrap(EKSResponse, "create_nodegroup")
    def create_nodegroup(original: Any, self: EKSResponse) -> ActionResult:
        """CreateNodegroup: keep updateConfig (AWS default maxUnavailable 1) and nodeRepairConfig, which moto
        dropped, and do not invent remote access, disk size or version."""
        result: ActionResult = original(self)
        cluster = self.eks_backend.describe_cluster(self._get_param("name"))
        nodegroup = self.eks_backend.describe_nodegroup(cluster.name, self._get_param("nodegroupName"))
        nodegroup.update_config = self._get_param("updateConfig") or {"maxUnavailable": 1}
        nodegroup.node_repair_config = self._get_param("nodeRepairConfig")
        # moto's invented defaults, which AWS does not have: an SSH key named eksKeypair (AWS: no remote
        # access), a 20 GiB disk with a launch template (AWS: the disk comes from the template), Kubernetes
        # 1.19 (AWS: the cluster's version, with the matching AMI release).
        if not self._get_param("remoteAccess"):
            extend(nodegroup, remote_access=None)
            nodegroup.resources = {"autoScalingGroups": nodegroup.resources["autoScalingGroups"]}
        if self._get_param("diskSize") is None:
            extend(nodegroup, disk_size=None if self._get_param("launchTemplate") else 20)
        if not self._get_param("version"):
            nodegroup.version = cluster.version
        if not self._get_param("releaseVersion"):
            nodegroup.release_version = f"{nodegroup.version}.0-20250101"
        return result

    @wrap(EKSBackend, "update_nodegroup_config")
    def update_nodegroup_config(
        original: Any, self: EKSBackend, cluster_name: str, nodegroup_name: str, **kwargs: Any
    ) -> dict[str, Any]:
        """UpdateNodegroupConfig: replace updateConfig as a whole (moto kept the old one when the new one was
        partial) and record the update so DescribeUpdate can report it. A scalingConfig whose sizes do not
        satisfy minSize <= desiredSize <= maxSize (after merging with the group's current ones) is refused
        with InvalidParameterException, as AWS does; moto stored any sizes, e.g. a desired size above the
        maximum."""
        scaling = kwargs.get("scaling_config")
        if (
            scaling
            and cluster_name in self.clusters
            and nodegroup_name in self.clusters[cluster_name].nodegroups
        ):
            current = self.clusters[cluster_name].nodegroups[nodegroup_name].scaling_config
            merged = {**current, **scaling}
            low, desired, high = (int(merged[k]) for k in ("minSize", "desiredSize", "maxSize"))
            if not low <= desired <= high or high < 1:
                raise InvalidParameterException(
                    clusterName=cluster_name,
                    nodegroupName=nodegroup_name,
                    message=f"Invalid scaling configuration: minSize {low}, desiredSize {desired}, "
                    f"maxSize {high} (need minSize <= desiredSize <= maxSize and maxSize >= 1)",
                )
        update: dict[str, Any] = original(
            self, cluster_name=cluster_name, nodegroup_name=nodegroup_name, **kwargs
        )
        cluster = self.clusters[cluster_name]
        nodegroup: Nodegroup = cluster.nodegroups[nodegroup_name]
        if kwargs.get("update_config"):
            nodegroup.update_config = dict(kwargs["update_config"])
        kept(cluster, "nexus_updates")[update["id"]] = {"update": update, "nodegroupName": nodegroup_name}
        return update


def _find_taggable(backend: EKSBackend, arn: str) -> Any:
    for cluster in backend.clusters.values():
        if cluster.arn == arn:
            return cluster
        for nodegroup in cluster.nodegroups.values():
            if nodegroup.arn == arn:
                return nodegroup
        for addon in _addons(cluster).values():
            if addon.addon_arn == arn:
                return addon
        for association in _associations(cluster).values():
            if association.association_arn == arn:
                return association
        for entry in _access_entries(cluster).values():
            if entry.access_entry_arn == arn:
                return entry
        for profile in cluster.fargate_profiles.values():
            if profile.fargate_profile_arn == arn:
                return profile
    raise ResourceNotFoundException(
        clusterName=None,
        nodegroupName=None,
        fargateProfileName=None,
        addonName=None,
        message="Resource was not found",
    )


def _install_tagging() -> None:
    def tag_resource(self: EKSResponse) -> ActionResult:
        """TagResource: AWS tags clusters, node groups, add-ons, Pod Identity associations and Fargate
        profiles; moto only clusters."""
        target = _find_taggable(self.eks_backend, self._extract_arn_from_path())
        tags = self._get_param("tags") or {}
        if not isinstance(tags, dict):
            raise InvalidParameterException(message="tags must be a map")
        target.tags.update(tags)
        return EmptyResult()

    def untag_resource(self: EKSResponse) -> ActionResult:
        """UntagResource: see tag_resource."""
        target = _find_taggable(self.eks_backend, self._extract_arn_from_path())
        keys = self._get_param("tagKeys") or []
        for key in [keys] if isinstance(keys, str) else keys:
            target.tags.pop(key, None)
        return EmptyResult()

    def list_tags_for_resource(self: EKSResponse) -> ActionResult:
        """ListTagsForResource: see tag_resource."""
        target = _find_taggable(self.eks_backend, self._extract_arn_from_path())
        return ActionResult({"tags": target.tags})

    for func in (tag_resource, untag_resource, list_tags_for_resource):
        add_action(EKSResponse, func, replace=True)


def apply() -> None:
    """Install the EKS patches."""
    dispatch = EKSResponse.dispatch
    add_routes(
        eks_urls,
        {
            "{0}/clusters/(?P<name>[^/]+)/addons$": dispatch,
            "{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)$": dispatch,
            "{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)/update$": dispatch,
            "{0}/addons/supported-versions$": dispatch,
            "{0}/clusters/(?P<name>[^/]+)/updates$": dispatch,
            "{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)$": dispatch,
            "{0}/clusters/(?P<name>[^/]+)/node-groups/(?P<nodegroupName>[^/]+)/update-version$": dispatch,
            "{0}/clusters/(?P<name>[^/]+)/pod-identity-associations$": dispatch,
            "{0}/clusters/(?P<name>[^/]+)/pod-identity-associations/(?P<associationId>[^/]+)$": dispatch,
            # A principal ARN holds '/' (role/<name>), so the access-entry paths take everything after the
            # prefix; moto's router then matches the operation from the SDK's request URIs.
            "{0}/clusters/(?P<name>[^/]+)/access-entries$": dispatch,
            "{0}/clusters/(?P<name>[^/]+)/access-entries/(?P<rest>.+)$": dispatch,
        },
    )
    for func in (
        create_addon,
        describe_addon,
        delete_addon,
        list_addons,
        update_addon,
        describe_addon_versions,
        create_pod_identity_association,
        describe_pod_identity_association,
        update_pod_identity_association,
        delete_pod_identity_association,
        list_pod_identity_associations,
        create_access_entry,
        describe_access_entry,
        update_access_entry,
        delete_access_entry,
        list_access_entries,
        associate_access_policy,
        list_associated_access_policies,
        disassociate_access_policy,
        describe_update,
        list_updates,
        update_cluster_version,
        update_nodegroup_version,
    ):
        add_action(EKSResponse, func)
    _install_cluster_settings()
    _install_nodegroup_settings()
    _install_tagging()
