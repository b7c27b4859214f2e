"""Metrics (the README's names, route templates as labels), request ids, JSON log lines."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from nexus_api.jsonlog import JsonFormatter, request_id_var

README = Path(__file__).resolve().parents[1] / "README.md"


def documented_metrics() -> set[str]:
    """Metric names in the README's metrics table (first column of rows under the "## Metrics" heading)."""
    text = README.read_text()
    section = text.split("\n## Metrics", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(nexus_api_[a-z_]+)`", section, re.MULTILINE))


def exposed_metrics(exposition: str) -> set[str]:
    return set(re.findall(r"^# TYPE (nexus_api_[a-z_]+) ", exposition, re.MULTILINE))


@pytest.mark.anyio
async def test_exposition_has_exactly_the_documented_metrics(
    client: httpx.AsyncClient, unique: Callable[[str], str]
) -> None:
    record_id = unique("metrics")
    await client.put(f"/api/v1/records/{record_id}", json={"data": {}})
    await client.get(f"/api/v1/records/{record_id}")
    resp = await client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    documented = documented_metrics()
    assert len(documented) >= 15
    assert exposed_metrics(resp.text) == documented


@pytest.mark.anyio
async def test_http_metrics_use_route_templates_and_status(
    client: httpx.AsyncClient, unique: Callable[[str], str]
) -> None:
    record_id = unique("label")
    await client.get(f"/api/v1/records/{record_id}")  # 404
    await client.get("/no/such/route")
    text = (await client.get("/metrics")).text
    assert record_id not in text
    assert "/no/such/route" not in text
    assert re.search(
        r'^nexus_api_http_requests_total\{method="GET",route="/api/v1/records/\{record_id\}",status="404"\} '
        r"[1-9]",
        text,
        re.MULTILINE,
    )
    assert 'route="unmatched",status="404"' in text
    assert re.search(
        r'^nexus_api_http_request_duration_seconds_bucket\{le="\+Inf",method="GET",'
        r'route="/api/v1/records/\{record_id\}",status="404"\} [1-9]',
        text,
        re.MULTILINE,
    )


@pytest.mark.anyio
async def test_build_info_says_version_region_and_role(client: httpx.AsyncClient) -> None:
    text = (await client.get("/metrics")).text
    match = re.search(r"^nexus_api_build_info\{(.*)\} 1\.0$", text, re.MULTILINE)
    assert match
    labels = dict(re.findall(r'(\w+)="([^"]*)"', match[1]))
    assert labels["region"] == "us-east-1"
    assert labels["role"] == "primary"
    assert re.match(r"^\d+\.\d+\.\d+", labels["version"])


@pytest.mark.anyio
async def test_request_id_is_kept_or_made(client: httpx.AsyncClient) -> None:
    kept = await client.get("/healthz", headers={"X-Request-ID": "edge-1234.abc"})
    assert kept.headers["x-request-id"] == "edge-1234.abc"
    made = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    other = await client.get("/healthz")
    assert other.headers["x-request-id"] != made.headers["x-request-id"]


def test_log_lines_are_json_with_the_request_id() -> None:
    formatter = JsonFormatter({"service": "nexus-api"})
    record = logging.LogRecord("nexus_api.access", logging.INFO, __file__, 1, "request %s", ("done",), None)
    record.status = 201
    token = request_id_var.set("req-42")
    try:
        line = formatter.format(record)
    finally:
        request_id_var.reset(token)
    entry = json.loads(line)
    assert entry["msg"] == "request done"
    assert entry["level"] == "info"
    assert entry["request_id"] == "req-42"
    assert entry["status"] == 201
    assert entry["service"] == "nexus-api"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["ts"])
    assert "\n" not in line
