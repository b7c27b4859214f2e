"""CloudFront patches of the sandbox emulator (boto3 against moto with the patches applied)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/abc"


@pytest.fixture
def cloudfront(aws: None) -> Any:
    return boto3.client("cloudfront", region_name="us-east-1")


def _origin(origin_id: str) -> dict[str, Any]:
    return {
        "Id": origin_id,
        "DomainName": f"{origin_id}.example.com",
        "CustomOriginConfig": {"HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"},
    }


def _config(target: str, groups: bool = True) -> dict[str, Any]:
    config: dict[str, Any] = {
        "CallerReference": f"ref-{target}",
        "Comment": "edge",
        "Enabled": True,
        "Origins": {"Quantity": 2, "Items": [_origin("primary"), _origin("dr")]},
        "DefaultCacheBehavior": {
            "TargetOriginId": target,
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
        },
        "ViewerCertificate": {"ACMCertificateArn": CERT, "SSLSupportMethod": "sni-only"},
    }
    if groups:
        config["OriginGroups"] = {
            "Quantity": 1,
            "Items": [
                {
                    "Id": "failover",
                    "FailoverCriteria": {"StatusCodes": {"Quantity": 2, "Items": [500, 502]}},
                    "Members": {"Quantity": 2, "Items": [{"OriginId": "primary"}, {"OriginId": "dr"}]},
                }
            ],
        }
    return config


def test_default_behaviour_may_target_origin_group(cloudfront: Any) -> None:
    created = cloudfront.create_distribution(DistributionConfig=_config("failover"))["Distribution"]
    config = cloudfront.get_distribution(Id=created["Id"])["Distribution"]["DistributionConfig"]
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "failover"
    assert config["OriginGroups"]["Items"][0]["Id"] == "failover"


def test_unknown_target_still_rejected(cloudfront: Any) -> None:
    with pytest.raises(ClientError) as exc:
        cloudfront.create_distribution(DistributionConfig=_config("nowhere"))
    assert exc.value.response["Error"]["Code"] == "NoSuchOrigin"
    with pytest.raises(ClientError):
        cloudfront.create_distribution(DistributionConfig=_config("failover", groups=False))


def test_acm_viewer_certificate_is_not_default(cloudfront: Any) -> None:
    created = cloudfront.create_distribution(DistributionConfig=_config("primary"))["Distribution"]
    certificate = cloudfront.get_distribution(Id=created["Id"])["Distribution"]["DistributionConfig"][
        "ViewerCertificate"
    ]
    assert certificate["CloudFrontDefaultCertificate"] is False
    assert certificate["ACMCertificateArn"] == CERT
    assert certificate["CertificateSource"] == "acm"


def test_cache_policy_behaviour_has_no_forwarded_values(cloudfront: Any) -> None:
    created = cloudfront.create_distribution(DistributionConfig=_config("primary"))["Distribution"]
    behaviour = cloudfront.get_distribution(Id=created["Id"])["Distribution"]["DistributionConfig"][
        "DefaultCacheBehavior"
    ]
    assert "ForwardedValues" not in behaviour
    assert behaviour["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


def test_response_headers_policy_lifecycle(cloudfront: Any) -> None:
    config = {
        "Name": "security-headers",
        "Comment": "HSTS and friends",
        "SecurityHeadersConfig": {
            "StrictTransportSecurity": {
                "Override": True,
                "AccessControlMaxAgeSec": 31536000,
                "IncludeSubdomains": True,
                "Preload": True,
            },
            "ContentTypeOptions": {"Override": True},
            "FrameOptions": {"Override": True, "FrameOption": "DENY"},
        },
    }
    created = cloudfront.create_response_headers_policy(ResponseHeadersPolicyConfig=config)
    policy_id = created["ResponseHeadersPolicy"]["Id"]
    assert created["ETag"]

    got = cloudfront.get_response_headers_policy(Id=policy_id)
    assert got["ResponseHeadersPolicy"]["ResponseHeadersPolicyConfig"] == config
    assert got["ETag"] == created["ETag"]

    with pytest.raises(ClientError) as exc:
        cloudfront.update_response_headers_policy(
            Id=policy_id, IfMatch="stale", ResponseHeadersPolicyConfig=config
        )
    assert exc.value.response["Error"]["Code"] == "PreconditionFailed"
    updated = cloudfront.update_response_headers_policy(
        Id=policy_id, IfMatch=got["ETag"], ResponseHeadersPolicyConfig={**config, "Comment": "changed"}
    )
    assert updated["ResponseHeadersPolicy"]["ResponseHeadersPolicyConfig"]["Comment"] == "changed"
    listed = cloudfront.list_response_headers_policies()["ResponseHeadersPolicyList"]
    assert [p["ResponseHeadersPolicy"]["Id"] for p in listed["Items"]] == [policy_id]

    cloudfront.delete_response_headers_policy(Id=policy_id, IfMatch=updated["ETag"])
    with pytest.raises(ClientError) as exc:
        cloudfront.get_response_headers_policy(Id=policy_id)
    assert exc.value.response["Error"]["Code"] == "NoSuchResponseHeadersPolicy"
