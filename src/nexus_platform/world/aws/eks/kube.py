"""Access to a cluster's Kubernetes API through the official client: the endpoint and CA from EKS
DescribeCluster, and a bearer token made the way aws-iam-authenticator makes it.

The token is a presigned STS GetCallerIdentity URL carrying the cluster's name in the signed `x-k8s-aws-id`
header, base64url-encoded without padding and prefixed `k8s-aws-v1.`. EKS accepts it for 15 minutes; it is
remade after 10. The caller's IAM principal must have an EKS access entry (or aws-auth mapping) in the
cluster. The platform's clusters have a private endpoint only: the API answers from inside the region's VPC
(or through a tunnel into it), so pass a `KubeAccess` of your own when running from elsewhere.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_platform.errors import NexusError

TOKEN_PREFIX = "k8s-aws-v1."  # noqa: S105 - a format marker, not a secret
CLUSTER_ID_HEADER = "x-k8s-aws-id"
PRESIGN_SECONDS = 60
TOKEN_REUSE_SECONDS = 600.0


@dataclass(frozen=True)
class KubeAccess:
    """How to reach one cluster's API: its URL, a bearer-token provider, and the CA (PEM) to verify it with
    (None: the system's trust store, or a plain-HTTP test server)."""

    host: str
    token: Callable[[], str]
    ca_pem: bytes | None = None


def eks_token(cluster_name: str, region: str, credentials: Any) -> str:
    """A bearer token for `cluster_name`, signed with `credentials` (botocore's signer, SigV4 query
    string)."""
    from botocore.hooks import HierarchicalEmitter  # noqa: PLC0415
    from botocore.model import ServiceId  # noqa: PLC0415
    from botocore.signers import RequestSigner  # noqa: PLC0415

    # The signer keeps only a weak reference to its event emitter: this name keeps it alive while signing.
    events = HierarchicalEmitter()
    signer = RequestSigner(ServiceId("sts"), region, "sts", "v4", credentials, events)
    request = {
        "method": "GET",
        "url": f"https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
        "body": {},
        "headers": {CLUSTER_ID_HEADER: cluster_name},
        "context": {},
    }
    url = signer.generate_presigned_url(
        request, region_name=region, expires_in=PRESIGN_SECONDS, operation_name=""
    )
    del events
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


class EksTokens:
    """A token provider for one cluster: a fresh token when the last is older than ten minutes."""

    def __init__(self, cluster_name: str, region: str, credentials: Callable[[], Any]) -> None:
        self.cluster_name, self.region, self.credentials = cluster_name, region, credentials
        self._token: tuple[float, str] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() - self._token[0] > TOKEN_REUSE_SECONDS:
                self._token = (
                    time.monotonic(),
                    eks_token(self.cluster_name, self.region, self.credentials()),
                )
            return self._token[1]


def from_cluster(described: dict[str, Any], region: str, credentials: Callable[[], Any]) -> KubeAccess:
    """The access to the cluster EKS DescribeCluster described."""
    name = described["name"]
    endpoint = described.get("endpoint")
    if not endpoint:
        raise NexusError(f"EKS cluster {name} has no API endpoint yet", hint="is the cluster ACTIVE?")
    data = (described.get("certificateAuthority") or {}).get("data")
    try:
        ca = base64.b64decode(data, validate=True) if data else None
    except (binascii.Error, ValueError):
        ca = b""
    if ca is not None and not ca.lstrip().startswith(b"-----BEGIN CERTIFICATE-----"):
        raise NexusError(f"EKS cluster {name}'s certificate authority is not a base64 PEM certificate")
    return KubeAccess(host=str(endpoint).rstrip("/"), token=EksTokens(name, region, credentials), ca_pem=ca)


def _ca_file(pem: bytes) -> Path:
    """The CA in a file (the client takes a path), named after its content so each is written once."""
    path = Path(tempfile.gettempdir()) / f"nexus-kube-ca-{hashlib.sha256(pem).hexdigest()[:16]}.pem"
    if not path.exists():
        path.write_bytes(pem)
    return path


def api_client(access: KubeAccess) -> Any:
    """The official client's ApiClient for the cluster, its token renewed before each request."""
    from kubernetes import client  # noqa: PLC0415

    configuration = client.Configuration()
    configuration.host = access.host
    configuration.api_key = {"authorization": access.token()}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    configuration.refresh_api_key_hook = lambda c: c.api_key.update(authorization=access.token())
    if access.ca_pem:
        configuration.ssl_ca_cert = str(_ca_file(access.ca_pem))
    return client.ApiClient(configuration)


def apps_api(access: KubeAccess) -> Any:
    """AppsV1Api (Deployments and their scale) of the cluster."""
    from kubernetes import client  # noqa: PLC0415

    return client.AppsV1Api(api_client(access))


def autoscaling_api(access: KubeAccess) -> Any:
    """AutoscalingV2Api (HorizontalPodAutoscalers) of the cluster."""
    from kubernetes import client  # noqa: PLC0415

    return client.AutoscalingV2Api(api_client(access))


def core_api(access: KubeAccess) -> Any:
    """CoreV1Api (pods and their logs) of the cluster."""
    from kubernetes import client  # noqa: PLC0415

    return client.CoreV1Api(api_client(access))


def custom_objects_api(access: KubeAccess) -> Any:
    """CustomObjectsApi (Istio's PeerAuthentications) of the cluster."""
    from kubernetes import client  # noqa: PLC0415

    return client.CustomObjectsApi(api_client(access))
