"""Amazon CloudFront: origin groups as cache behaviour targets, and distribution settings moto drops."""

from __future__ import annotations

import uuid
from typing import Any

from moto.cloudfront import urls as cloudfront_urls
from moto.cloudfront.exceptions import CloudFrontException
from moto.cloudfront.models import (
    CloudFrontBackend,
    DefaultCacheBehaviour,
    DistributionConfig,
    ViewerCertificate,
)
from moto.cloudfront.responses import CloudFrontResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow

from . import add_action, add_routes, extend, kept, wrap


def _install_origin_group_targets() -> None:
    @wrap(DistributionConfig, "__init__")
    def init(original: Any, self: DistributionConfig, config: dict[str, Any]) -> None:
        """CreateDistribution/UpdateDistribution: AWS accepts a cache behaviour whose TargetOriginId names an
        OriginGroup of the distribution (origin failover); moto only looked at Origins and answered
        NoSuchOrigin. The check moto makes is run against the first origin, then the group id is put back."""
        behaviour = config.get("DefaultCacheBehavior") or {}
        target = behaviour.get("TargetOriginId")
        origin_ids = {
            origin["Id"]
            for origin in (config.get("Origins") or {}).get("Items") or []
            if isinstance(origin, dict)
        }
        group_ids = {group.get("Id") for group in (config.get("OriginGroups") or {}).get("Items") or []}
        if target in group_ids and target not in origin_ids and origin_ids:
            behaviour["TargetOriginId"] = sorted(origin_ids)[0]
            original(self, config)
            behaviour["TargetOriginId"] = target
            getattr(self, "DefaultCacheBehavior").target_origin_id = target  # noqa: B009 - set from the config
            return
        original(self, config)


def _install_cache_behaviour_settings() -> None:
    @wrap(DefaultCacheBehaviour, "__init__")
    def init(original: Any, self: DefaultCacheBehaviour, config: dict[str, Any]) -> None:
        """Cache behaviours: AWS returns the function / Lambda@Edge associations and the response headers
        policy it was given, and no legacy ForwardedValues when none were given (a cache policy is used
        instead); moto answered no associations and invented ForwardedValues (so Terraform saw a diff on every
        run)."""
        original(self, config)
        if "ForwardedValues" not in config:
            # Legacy cache settings are absent when the behaviour uses a cache policy (moto invented them).
            extend(self, forwarded_values=None)
        for key, attr in (
            ("FunctionAssociations", "function_associations"),
            ("LambdaFunctionAssociations", "lambda_function_associations"),
        ):
            value = config.get(key)
            if value:
                items = value.get("Items") or []
                setattr(self, attr, {"Quantity": len(items), "Items": items} if items else {"Quantity": 0})
        for key, attr in (
            ("CachePolicyId", "cache_policy_id"),
            ("OriginRequestPolicyId", "origin_request_policy_id"),
            ("ResponseHeadersPolicyId", "response_headers_policy_id"),
        ):
            if config.get(key):
                setattr(self, attr, config[key])

    @wrap(ViewerCertificate, "__init__")
    def viewer_certificate(original: Any, self: ViewerCertificate, config: dict[str, Any]) -> None:
        """ViewerCertificate: with an ACM (or IAM) certificate AWS reports CloudFrontDefaultCertificate=false
        and CertificateSource acm (iam); moto kept the default certificate flag true and the source
        'cloudfront'."""
        original(self, config)
        if config.get("ACMCertificateArn"):
            self.certificate_source = "acm"
            self.certificate = config["ACMCertificateArn"]
            self.cloud_front_default_certificate = config.get("CloudFrontDefaultCertificate", False)
        elif config.get("IAMCertificateId"):
            self.certificate_source = "iam"
            self.certificate = config["IAMCertificateId"]
            self.cloud_front_default_certificate = config.get("CloudFrontDefaultCertificate", False)


# --- response headers policies ------------------------------------------------------------------------------


class NoSuchResponseHeadersPolicy(CloudFrontException):
    def __init__(self) -> None:
        super().__init__("NoSuchResponseHeadersPolicy", "The response headers policy does not exist.")


class ResponseHeadersPolicyAlreadyExists(CloudFrontException):
    def __init__(self) -> None:
        super().__init__(
            "ResponseHeadersPolicyAlreadyExists", "A response headers policy with this name exists."
        )


class PreconditionFailed(CloudFrontException):
    def __init__(self) -> None:
        super().__init__("PreconditionFailed", "The If-Match version is missing or not valid.")


def _policies(backend: CloudFrontBackend) -> dict[str, dict[str, Any]]:
    return kept(backend, "nexus_response_headers_policies")


def _policy(response: CloudFrontResponse) -> dict[str, Any]:
    policy = _policies(response.backend).get(response._get_param("Id"))
    if policy is None:
        raise NoSuchResponseHeadersPolicy()
    return policy


def _policy_result(policy: dict[str, Any]) -> ActionResult:
    return ActionResult(
        {
            "ResponseHeadersPolicy": {
                "Id": policy["Id"],
                "LastModifiedTime": policy["LastModifiedTime"],
                "ResponseHeadersPolicyConfig": policy["Config"],
            },
            "ETag": policy["ETag"],
            "Location": f"https://cloudfront.amazonaws.com/2020-05-31/response-headers-policy/{policy['Id']}",
        }
    )


def create_response_headers_policy(self: CloudFrontResponse) -> ActionResult:
    """CreateResponseHeadersPolicy: not in moto (404), so aws_cloudfront_response_headers_policy failed. AWS
    stores the policy configuration as given and answers with its id and an ETag for later updates."""
    config = self._get_param("ResponseHeadersPolicyConfig") or {}
    policies = _policies(self.backend)
    if any(p["Config"].get("Name") == config.get("Name") for p in policies.values()):
        raise ResponseHeadersPolicyAlreadyExists()
    policy = {
        "Id": str(uuid.uuid4()),
        "LastModifiedTime": utcnow(),
        "Config": config,
        "ETag": uuid.uuid4().hex,
    }
    policies[str(policy["Id"])] = policy
    return _policy_result(policy)


def get_response_headers_policy(self: CloudFrontResponse) -> ActionResult:
    """GetResponseHeadersPolicy: the stored policy."""
    return _policy_result(_policy(self))


def get_response_headers_policy_config(self: CloudFrontResponse) -> ActionResult:
    """GetResponseHeadersPolicyConfig: the stored configuration."""
    policy = _policy(self)
    return ActionResult({"ResponseHeadersPolicyConfig": policy["Config"], "ETag": policy["ETag"]})


def update_response_headers_policy(self: CloudFrontResponse) -> ActionResult:
    """UpdateResponseHeadersPolicy: replaces the configuration (If-Match must be the current ETag, as AWS)."""
    policy = _policy(self)
    if self._get_param("IfMatch") != policy["ETag"]:
        raise PreconditionFailed()
    policy.update(Config=self._get_param("ResponseHeadersPolicyConfig") or {}, ETag=uuid.uuid4().hex)
    policy["LastModifiedTime"] = utcnow()
    return _policy_result(policy)


def delete_response_headers_policy(self: CloudFrontResponse) -> ActionResult:
    """DeleteResponseHeadersPolicy: removes the policy (If-Match must be the current ETag)."""
    policy = _policy(self)
    if self._get_param("IfMatch") != policy["ETag"]:
        raise PreconditionFailed()
    del _policies(self.backend)[policy["Id"]]
    return EmptyResult()


def list_response_headers_policies(self: CloudFrontResponse) -> ActionResult:
    """ListResponseHeadersPolicies: the custom policies (one page)."""
    items = [
        {
            "Type": "custom",
            "ResponseHeadersPolicy": {
                "Id": p["Id"],
                "LastModifiedTime": p["LastModifiedTime"],
                "ResponseHeadersPolicyConfig": p["Config"],
            },
        }
        for p in _policies(self.backend).values()
    ]
    return ActionResult(
        {"ResponseHeadersPolicyList": {"MaxItems": 100, "Quantity": len(items), "Items": items}}
    )


def apply() -> None:
    """Install the CloudFront patches."""
    _install_origin_group_targets()
    _install_cache_behaviour_settings()
    dispatch = CloudFrontResponse.dispatch
    add_routes(
        cloudfront_urls,
        {
            "{0}/2020-05-31/response-headers-policy$": dispatch,
            "{0}/2020-05-31/response-headers-policy/(?P<policy_id>[^/]+)$": dispatch,
            "{0}/2020-05-31/response-headers-policy/(?P<policy_id>[^/]+)/config$": dispatch,
        },
    )
    for func in (
        create_response_headers_policy,
        get_response_headers_policy,
        get_response_headers_policy_config,
        update_response_headers_policy,
        delete_response_headers_policy,
        list_response_headers_policies,
    ):
        add_action(CloudFrontResponse, func)
