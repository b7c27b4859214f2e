#!/usr/bin/env python3
"""Amazon ECR steps of the delivery pipeline (boto3; credentials from the environment, e.g. IRSA in Jenkins).

    ecr.py registry --region us-east-1                      -> 123456789012.dkr.ecr.us-east-1.amazonaws.com
    ecr.py login --region us-east-1 --docker-config DIR     -> writes DIR/config.json for crane
    ecr.py digest --region us-east-1 --repository nexus-api --tag TAG     -> sha256:... (exit 3 if absent)
    ecr.py verify-replication --repository nexus-api --tag TAG --digest sha256:... \
        --source-region us-east-1 --replica-region eu-west-1 [--timeout 900] [--interval 15]

The image is pushed to the primary region only; the registry's replication rule (terraform/aws/registry.tf)
copies it to the DR region. ``verify-replication`` waits until the DR repository holds the same tag with the
same digest, so the GitOps step never points the DR cluster at an image it cannot pull. A different digest
under the same tag fails at once (tags are immutable: something else pushed it).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

EXIT_ABSENT = 3


class EcrError(Exception):
    """A step failed; the message says which and why."""


def _client(region: str) -> Any:
    return boto3.client("ecr", region_name=region)


def registry_host(region: str) -> str:
    registry_id = _client(region).describe_registry()["registryId"]
    return f"{registry_id}.dkr.ecr.{region}.amazonaws.com"


def login(region: str, docker_config: Path) -> str:
    """Write a Docker config.json with a 12-hour ECR token for ``region``'s registry; return the host."""
    data = _client(region).get_authorization_token()["authorizationData"][0]
    host = str(data["proxyEndpoint"]).removeprefix("https://")
    token = str(data["authorizationToken"])
    if not base64.b64decode(token).startswith(b"AWS:"):
        raise EcrError(f"unexpected ECR authorization token for {host}")
    docker_config.mkdir(parents=True, exist_ok=True)
    path = docker_config / "config.json"
    config: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    config.setdefault("auths", {})[host] = {"auth": token}
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    return host


def image_digest(region: str, repository: str, tag: str) -> str | None:
    """The digest of ``repository:tag`` in ``region``, or None if there is no such image."""
    try:
        response = _client(region).describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ImageNotFoundException":
            return None
        raise
    details = response.get("imageDetails", [])
    return str(details[0]["imageDigest"]) if details else None


def verify_replication(
    *,
    repository: str,
    tag: str,
    digest: str,
    source_region: str,
    replica_region: str,
    timeout: float,
    interval: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Wait until ``replica_region`` holds ``repository:tag`` with ``digest``; return a one-line report."""
    source = image_digest(source_region, repository, tag)
    if source != digest:
        raise EcrError(f"{repository}:{tag} in {source_region} is {source or 'absent'}, not {digest}")
    deadline = clock() + timeout
    while True:
        replica = image_digest(replica_region, repository, tag)
        if replica == digest:
            return f"{repository}:{tag} replicated to {replica_region} with digest {digest}"
        if replica is not None:
            raise EcrError(
                f"{repository}:{tag} in {replica_region} has digest {replica}, expected {digest} "
                "(tags are immutable: another image was pushed under this tag)"
            )
        if clock() >= deadline:
            raise EcrError(
                f"{repository}:{tag} has not reached {replica_region} after {timeout:.0f}s: "
                "check the registry's replication rule (terraform/aws/registry.tf) and the DR repository"
            )
        sleep(interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_registry = sub.add_parser("registry", help="print the registry host of a region")
    p_registry.add_argument("--region", required=True)
    p_login = sub.add_parser("login", help="write an ECR token into a Docker config.json")
    p_login.add_argument("--region", required=True)
    p_login.add_argument("--docker-config", type=Path, required=True)
    p_digest = sub.add_parser("digest", help="print the digest of repository:tag (exit 3 if absent)")
    p_digest.add_argument("--region", required=True)
    p_digest.add_argument("--repository", required=True)
    p_digest.add_argument("--tag", required=True)
    p_verify = sub.add_parser("verify-replication", help="wait for the image in the replica region")
    p_verify.add_argument("--repository", required=True)
    p_verify.add_argument("--tag", required=True)
    p_verify.add_argument("--digest", required=True)
    p_verify.add_argument("--source-region", required=True)
    p_verify.add_argument("--replica-region", required=True)
    p_verify.add_argument("--timeout", type=float, default=900.0)
    p_verify.add_argument("--interval", type=float, default=15.0)
    args = parser.parse_args(argv)

    try:
        if args.command == "registry":
            print(registry_host(args.region))
        elif args.command == "login":
            print(f"logged in to {login(args.region, args.docker_config)}")
        elif args.command == "digest":
            found = image_digest(args.region, args.repository, args.tag)
            if found is None:
                print(f"ecr: {args.repository}:{args.tag} not found in {args.region}", file=sys.stderr)
                return EXIT_ABSENT
            print(found)
        else:
            print(
                verify_replication(
                    repository=args.repository,
                    tag=args.tag,
                    digest=args.digest,
                    source_region=args.source_region,
                    replica_region=args.replica_region,
                    timeout=args.timeout,
                    interval=args.interval,
                )
            )
    except EcrError as exc:
        print(f"ecr: {exc}", file=sys.stderr)
        return 1
    except (BotoCoreError, ClientError) as exc:
        print(f"ecr: AWS error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
