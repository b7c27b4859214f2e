"""Real requests through the sandbox: a write at the global edge, read back in the DR region once replicated.

`nexus up` ends with one such round (the proof that the whole path works) and `make bench-sandbox` times many.
Reads from the DR region send ``Cache-Control: no-cache`` so they prove the database replica, not the cache.
"""

from __future__ import annotations

import http.client
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from nexus_platform.errors import NexusError

# A kept-alive connection the server has closed meanwhile (idle timeout, a restarted proxy) fails like this
# before any answer: for a GET, nothing happened, and it is sent once more on a new connection.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class Client:
    """One keep-alive HTTP connection to a base URL (re-opened after an error)."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        split = urlsplit(base_url)
        self.host, self.port = split.hostname or "127.0.0.1", split.port or 80
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], Any]:
        reused = self._conn is not None
        try:
            return self._request(method, path, body, headers)
        except _STALE:
            if not (reused and method == "GET"):
                raise
            return self._request(method, path, body, headers)

    def _request(
        self, method: str, path: str, body: Any, headers: dict[str, str] | None
    ) -> tuple[int, dict[str, str], Any]:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        payload = json.dumps(body).encode() if body is not None else None
        try:
            self._conn.request(
                method, path, body=payload, headers={"Content-Type": "application/json", **(headers or {})}
            )
            response = self._conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        data = (
            json.loads(raw)
            if raw and response.getheader("Content-Type", "").startswith("application/json")
            else raw
        )
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass(frozen=True)
class CrossRegionWrite:
    record_id: str
    written_in: str  # the region whose database accepted the write (the record's own field)
    served_by: str | None  # the edge's X-Nexus-Region header
    ack_ms: float  # PUT at the edge -> its 201
    visible_after_ms: float  # the 201 -> first no-cache read of it from the DR region's API
    read_from: str | None  # the X-Nexus-Region header of the API that answered the read


def write_and_follow(
    edge: Client,
    dr_api: Client,
    dr_region: str,
    *,
    prefix: str = "sandbox-proof",
    timeout: float = 10.0,
    poll_interval: float = 0.002,
) -> CrossRegionWrite:
    record_id = f"{prefix}-{uuid.uuid4().hex[:12]}"
    sent = time.monotonic()
    try:
        status, headers, body = edge.request(
            "PUT",
            f"/api/v1/records/{record_id}",
            {"data": {"written_by": "nexus sandbox", "at": time.time()}},
        )
    except (OSError, http.client.HTTPException) as exc:
        raise NexusError(f"write through the edge failed: {exc}", hint="see `nexus status`") from None
    acked = time.monotonic()
    if status != 201:
        raise NexusError(f"write through the edge answered {status}: {body!r}", hint="see `nexus status`")
    deadline = acked + timeout
    while True:
        try:
            code, read_headers, read = dr_api.request(
                "GET", f"/api/v1/records/{record_id}", headers={"Cache-Control": "no-cache"}
            )
        except (OSError, http.client.HTTPException):
            code, read_headers, read = 0, {}, None
        now = time.monotonic()
        if code == 200 and isinstance(read, dict) and read.get("id") == record_id:
            return CrossRegionWrite(
                record_id,
                str(body["region"]),
                headers.get("x-nexus-region"),
                (acked - sent) * 1000,
                (now - acked) * 1000,
                read_headers.get("x-nexus-region"),
            )
        if now > deadline:
            raise NexusError(
                f"record {record_id} written through the edge is not readable in {dr_region} "
                f"after {timeout:.0f}s",
                hint="replication may be broken: see `nexus status`",
            )
        time.sleep(poll_interval)
