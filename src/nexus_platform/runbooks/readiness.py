"""The DR region's readiness (`nexus dr status`), Route 53 ARC-style: can it take over now, within the RPO?

World-blind for the data plane (world/base.py's interfaces); the control-plane checks (secret replicas, KMS
keys, snapshots) read AWS's APIs (the emulator's in the sandbox) through the clients the world chooser gives.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nexus_platform import platform as platform_model
from nexus_platform import telemetry
from nexus_platform.errors import Unreachable
from nexus_platform.runbooks import dr as runbooks


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # PASS | WARN | FAIL | SKIP
    detail: str
    hint: str = ""


def readiness(target: runbooks.Target, clients: Callable[[str, str], Any] | None = None) -> list[Check]:
    """Route 53 ARC-style readiness of the DR region: can it take over now, within the RPO?"""
    world, platform = target.world, target.platform
    dr, primary = platform.region("dr").region, platform.region("primary").region
    checks: list[Check] = []
    role = world.database.role("dr")
    lag = world.database.lag("dr")
    if role == "replica" and lag.streaming:
        checks.append(Check("dr-database", "PASS", f"{dr} is a streaming replica"))
    elif role == "primary":
        checks.append(Check("dr-database", "WARN", f"{dr} is the writer (failed over)", "nexus dr failback"))
    else:
        checks.append(
            Check(
                "dr-database",
                "FAIL",
                f"{dr} is {role}, streaming={lag.streaming}",
                "fix replication before anything else",
            )
        )
    budget, alarm = platform.rpo_target_seconds, platform.replica_lag_alarm_seconds
    verdict = runbooks.rpo_verdict(target)
    if role == "primary":
        checks.append(Check("replica-lag", "SKIP", "no replica (the DR region writes)"))
    elif verdict.bound is None:
        checks.append(Check("replica-lag", "FAIL", verdict.reason, "is the replica reachable?"))
    else:
        bound = verdict.bound
        status = "PASS" if bound <= alarm else "WARN" if verdict.ok else "FAIL"
        mode = "synchronous, " if lag.synchronous else ""
        checks.append(
            Check(
                "replica-lag",
                status,
                f"{mode}{lag.bytes} bytes behind: {bound:.1f}s of writes at risk; "
                f"alarm {alarm}s, RPO budget {budget}s",
                "" if status == "PASS" else "a failover now would lose that much",
            )
        )
    cache = world.cache.role("dr")
    checks.append(
        Check("dr-cache", "PASS" if cache in ("replica", "primary") else "FAIL", f"{dr} cache is {cache}")
    )
    try:
        want: int | None = world.compute.desired("primary")
    except Unreachable:
        want = None  # the primary region does not answer: DR must take over whatever its size was
    have = world.compute.capacity("dr")
    status = "PASS" if have.ready >= (want or 1) else "WARN" if have.ready > 0 else "FAIL"
    checks.append(
        Check(
            "dr-capacity",
            status,
            f"{have.ready} ready in {dr} for {'?' if want is None else want} in {primary}"
            + (" (it does not answer)" if want is None else ""),
            "" if status == "PASS" else "failover scales it; check the node groups can grow",
        )
    )
    for role_name in ("primary", "dr"):
        health = world.traffic.health(role_name)
        name = platform.region(role_name).region
        bad = "FAIL" if role_name == "dr" else "WARN"
        checks.append(
            Check(
                f"health-check-{role_name}",
                "PASS" if health == "healthy" else bad,
                f"the edge sees {name} {health}",
            )
        )
    serving = world.traffic.serving()
    checks.append(
        Check("serving", "PASS" if serving == "primary" else "WARN", f"the global endpoint serves {serving}")
    )
    ttls = world.traffic.record_ttls()
    if ttls is not None:
        for record, ttl in ttls.items():
            checks.append(
                Check(
                    "dns-ttl",
                    "PASS" if ttl <= 60 else "WARN",
                    f"{record}: TTL {ttl}s",
                    "clients keep a stale answer that long",
                )
            )
    else:
        checks.append(Check("dns-ttl", "SKIP", f"{world.name}: the edge fails over without DNS"))
    if clients is not None:
        checks += _control_plane_checks(platform, clients)
    return checks


def _control_plane_checks(
    platform: platform_model.Platform, clients: Callable[[str, str], Any]
) -> list[Check]:
    """What the DR region needs from the control plane: its secret replicas, its KMS key, a recent backup."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    from nexus_platform.database import approle  # noqa: PLC0415

    dr = platform.region("dr").region
    checks: list[Check] = []
    try:
        secrets = clients("secretsmanager", dr)
        config_name = approle.app_config_secret(platform.name_prefix)
        config = json.loads(secrets.get_secret_value(SecretId=config_name)["SecretString"])
        names = [config_name] + [
            approle.secret_name(str(config[key]))
            for key in ("database_app_secret_arn", "cache_auth_secret_arn")
        ]
        primary_secrets = clients("secretsmanager", platform.region("primary").region)
        for name in names:
            replicas = primary_secrets.describe_secret(SecretId=name).get("ReplicationStatus", [])
            mine = [r for r in replicas if r.get("Region") == dr]
            ok = bool(mine) and mine[0].get("Status") == "InSync"
            key = mine[0].get("KmsKeyId", "?") if mine else "-"
            checks.append(
                Check(
                    "secret-replica",
                    "PASS" if ok else "FAIL",
                    f"{name} in {dr}: {mine[0].get('Status') if mine else 'no replica'} (key {key})",
                    "" if ok else "re-apply terraform/aws",
                )
            )
            if mine and key not in ("?", "-"):
                state = clients("kms", dr).describe_key(KeyId=key)["KeyMetadata"]["KeyState"]
                checks.append(
                    Check("kms-key", "PASS" if state == "Enabled" else "FAIL", f"{key} in {dr}: {state}")
                )
    except (BotoCoreError, ClientError, KeyError, ValueError) as exc:
        checks.append(Check("secret-replica", "FAIL", f"cannot read the secrets in {dr}: {exc}"))
    try:
        # The database's snapshots (RDS's daily automated ones, on-demand ones): what a restore starts from.
        instance = platform.region("primary").db_instance_identifier
        rds = clients("rds", platform.region("primary").region)
        snapshots = rds.describe_db_snapshots(DBInstanceIdentifier=instance).get("DBSnapshots", [])
        done = [s["SnapshotCreateTime"] for s in snapshots if s.get("Status") == "available"]
        if not done:
            checks.append(Check("backup-age", "WARN", f"no snapshot of {instance} yet", "nexus backup run"))
        else:
            age = (datetime.now(UTC) - max(done)).total_seconds()
            status = "PASS" if age <= telemetry.BACKUP_MAX_AGE_SECONDS else "FAIL"
            checks.append(
                Check("backup-age", status, f"latest snapshot of {instance} is {age / 3600:.1f} h old")
            )
    except (BotoCoreError, ClientError) as exc:
        checks.append(Check("backup-age", "FAIL", f"cannot list the backups: {exc}"))
    return checks
