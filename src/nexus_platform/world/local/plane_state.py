"""What the sandbox data plane remembers beside its data (`<root>/state.json`, mode 0600): which region
writes, which are drained at the edge, the replication mode, the replication password and the cache token.
Written whole through a temporary file and a rename: a crash leaves the old state or the new, never half."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

from nexus_platform import model
from nexus_platform.errors import NexusError


class PlaneState:
    def __init__(self, root: Path, default_mode: str) -> None:
        self.root, self.default_mode = root, default_mode

    @property
    def _state_file(self) -> Path:
        return self.root / "state.json"

    def state(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self._state_file.read_text())
            return data
        except FileNotFoundError:
            return {}
        except json.JSONDecodeError:
            raise NexusError(
                f"{self._state_file} is corrupt", hint="run `nexus down` to reset the sandbox's data plane"
            ) from None

    def _save_state(self, **changes: Any) -> dict[str, Any]:
        state = {**self.state(), **changes}
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self._state_file.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self._state_file)
        return state

    def replication_password(self) -> str:
        state = self.state()
        password = state.get("replication_password")
        if not isinstance(password, str):
            password = secrets.token_urlsafe(24)
            self._save_state(replication_password=password)
        return password

    def writer(self) -> str:
        """The role whose region holds the writable database (the primary's until a failover)."""
        writer = self.state().get("writer", "primary")
        return writer if writer in model.ROLES else "primary"

    def set_writer(self, role: str) -> None:
        self._save_state(writer=role)

    def drained(self) -> list[str]:
        return [role for role in self.state().get("drained", []) if role in model.ROLES]

    def set_drained(self, role: str, drained: bool) -> None:
        roles = set(self.drained())
        roles = roles | {role} if drained else roles - {role}
        self._save_state(drained=sorted(roles))

    def cache_token(self) -> str | None:
        token = self.state().get("cache_token")
        return token if isinstance(token, str) else None

    def api_bounds(self, role: str) -> tuple[int, int] | None:
        """nexus-api's autoscaling bounds `nexus scale set --api-replicas` gave the region, if any."""
        value = self.state().get("api_bounds", {}).get(role)
        if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):
            return int(value[0]), int(value[1])
        return None

    def set_api_bounds(self, role: str, low: int, high: int) -> None:
        self._save_state(api_bounds={**self.state().get("api_bounds", {}), role: [low, high]})

    def clear_api_bounds(self, role: str) -> None:
        """Back to the chart's bounds."""
        self._save_state(
            api_bounds={k: v for k, v in self.state().get("api_bounds", {}).items() if k != role}
        )

    def mode(self) -> str:
        return str(self.state().get("mode", self.default_mode))
