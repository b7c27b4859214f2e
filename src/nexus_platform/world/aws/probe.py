"""The end-to-end probe: nexus-api's records API through the global endpoint (https://api.<domain>) or one
region's origin name (https://<region>.origin.<domain>), over urllib with a timeout."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlsplit

from nexus_platform.errors import NexusError
from nexus_platform.platform import Platform
from nexus_platform.world.base import ProbeResult

RECORDS_PATH = "/api/v1/records/"
PROBE_BODY = {"data": {"probe": "nexus dr"}}
REGION_HEADER = "x-nexus-region"


def platform_urls(platform: Platform) -> tuple[str, dict[str, str]]:
    """The records API's global URL and each region role's origin URL, from the platform model's names."""
    return f"https://{platform.api_fqdn}", {
        role: f"https://{facts.origin_fqdn}" for role, facts in platform.regions.items()
    }


class AwsProbe:
    def __init__(
        self,
        global_url: str,
        region_urls: dict[str, str],
        *,
        timeout: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        for url in (global_url, *region_urls.values()):
            if urlsplit(url).scheme not in ("https", "http"):
                raise NexusError(f"probe URL {url!r} is not http(s)")
        self.global_url = global_url.rstrip("/")
        self.region_urls = {role: url.rstrip("/") for role, url in region_urls.items()}
        self.timeout = timeout
        self.ssl_context = ssl_context

    def _base(self, role: str | None) -> str:
        if role is None:
            return self.global_url
        try:
            return self.region_urls[role]
        except KeyError:
            raise NexusError(f"no API address for region role {role!r}") from None

    def _call(
        self, method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> ProbeResult:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - the scheme is checked
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        began = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.ssl_context) as answer:  # noqa: S310
                status, answer_headers, payload = answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as exc:
            status, answer_headers, payload = exc.code, exc.headers, exc.read()
        except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections, TLS failures
            reason = getattr(exc, "reason", exc)
            return ProbeResult(False, None, None, (time.monotonic() - began) * 1000, str(reason))
        milliseconds = (time.monotonic() - began) * 1000
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = None
        region = answer_headers.get(REGION_HEADER) if answer_headers else None
        if region is None and isinstance(parsed, dict) and isinstance(parsed.get("region"), str):
            region = parsed["region"]
        ok = status in (200, 201)
        detail = "" if ok else payload[:200].decode(errors="replace")
        return ProbeResult(ok, region, status, milliseconds, detail)

    def write(self, record_id: str) -> ProbeResult:
        return self._call("PUT", f"{self.global_url}{RECORDS_PATH}{quote(record_id, safe='')}", PROBE_BODY)

    def read(self, record_id: str, role: str | None = None) -> ProbeResult:
        url = f"{self._base(role)}{RECORDS_PATH}{quote(record_id, safe='')}"
        return self._call("GET", url, headers={"Cache-Control": "no-cache"})
