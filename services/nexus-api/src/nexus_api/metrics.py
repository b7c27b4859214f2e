"""Prometheus metrics. The names here are a contract: alert rules and dashboards are written against them, and
the README's table lists each (a test checks that the exposition and the table agree)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

# Latency buckets around the service's objective (p99 <= 50 ms), with room above for slow dependencies.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# The *_created series double the exposition and no rule or dashboard uses them.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream

PoolStats = Callable[[], dict[str, int] | None]


class Metrics:
    """All of one app's metrics, in a registry of its own (tests build many apps in one process)."""

    def __init__(self, *, version: str, region: str, role: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        ProcessCollector(registry=reg)
        PlatformCollector(registry=reg)
        GCCollector(registry=reg)

        self.http_requests = Counter(
            "nexus_api_http_requests",
            "HTTP requests served, by route template, method and status code.",
            ("route", "method", "status"),
            registry=reg,
        )
        self.http_duration = Histogram(
            "nexus_api_http_request_duration_seconds",
            "Time from request received to response sent, by route template, method and status code.",
            ("route", "method", "status"),
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.http_in_flight = Gauge(
            "nexus_api_http_requests_in_flight", "HTTP requests being served now.", registry=reg
        )
        self.cache_requests = Counter(
            "nexus_api_cache_requests",
            "Cache lookups by result: hit, miss, or error (cache unreachable; the database answered).",
            ("result",),
            registry=reg,
        )
        self.cache_invalidations = Counter(
            "nexus_api_cache_invalidations",
            "Cache invalidations after a write, by result (ok or error).",
            ("result",),
            registry=reg,
        )
        self.record_writes = Counter(
            "nexus_api_record_writes",
            "Record writes by outcome: created, replayed, conflict, read_only, unavailable.",
            ("outcome",),
            registry=reg,
        )
        self.build_info = Gauge(
            "nexus_api_build_info",
            "Always 1; the labels say which build serves which region in which role.",
            ("version", "region", "role"),
            registry=reg,
        )
        self.build_info.labels(version, region, role).set(1)
        self.read_only = Gauge(
            "nexus_api_read_only",
            "1 while writes are refused because the database is a replica or read-only.",
            registry=reg,
        )
        self.db_up = Gauge("nexus_api_db_up", "1 if the last database role check succeeded.", registry=reg)
        self.db_role_changes = Counter(
            "nexus_api_db_role_changes",
            "Times the database switched between writable and read-only (promotion, fencing, demotion).",
            registry=reg,
        )
        self.schema_ready = Gauge(
            "nexus_api_schema_ready",
            "1 once every migration this build knows is applied to the database.",
            registry=reg,
        )
        self.read_only.set(1)
        # Pre-create the children so that every series exists from the first scrape (rate() needs two points).
        for result in ("hit", "miss", "error"):
            self.cache_requests.labels(result)
        for result in ("ok", "error"):
            self.cache_invalidations.labels(result)
        for outcome in ("created", "replayed", "conflict", "read_only", "unavailable"):
            self.record_writes.labels(outcome)
        self.cache_hit = self.cache_requests.labels("hit")
        self.cache_miss = self.cache_requests.labels("miss")
        self.cache_error = self.cache_requests.labels("error")
        self._http_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        # labels() takes a lock and builds a key on every call; memoising the children keeps the hot path
        # short.
        key = (route, method, status)
        children = self._http_children.get(key)
        if children is None:
            labels = (route, method, str(status))
            children = (self.http_requests.labels(*labels), self.http_duration.labels(*labels))
            self._http_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def watch_pool(self, stats: PoolStats) -> None:
        self.registry.register(PoolCollector(stats))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class PoolCollector(Collector):
    """Reads the connection pool's own statistics at scrape time (psycopg_pool keeps them)."""

    GAUGES = (
        ("nexus_api_db_pool_size", "pool_size", "Connections the pool holds (idle and in use)."),
        ("nexus_api_db_pool_available", "pool_available", "Idle connections ready to be handed out."),
        ("nexus_api_db_pool_min", "pool_min", "Configured minimum pool size."),
        ("nexus_api_db_pool_max", "pool_max", "Configured maximum pool size."),
        ("nexus_api_db_pool_requests_waiting", "requests_waiting", "Requests queued for a connection now."),
    )
    COUNTERS = (
        ("nexus_api_db_pool_requests", "requests_num", "Connections requested from the pool."),
        (
            "nexus_api_db_pool_requests_queued",
            "requests_queued",
            "Requests that had to wait for a connection.",
        ),
        (
            "nexus_api_db_pool_timeouts",
            "requests_errors",
            "Requests that timed out waiting for a connection.",
        ),
        (
            "nexus_api_db_pool_connection_errors",
            "connections_errors",
            "Failed attempts to open a connection.",
        ),
        ("nexus_api_db_pool_connections_lost", "connections_lost", "Connections found broken and discarded."),
    )

    def __init__(self, stats: PoolStats) -> None:
        self._stats = stats

    def describe(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        # Declaring the names lets the registry refuse a duplicate at registration instead of at scrape.
        for name, _, doc in self.GAUGES:
            yield GaugeMetricFamily(name, doc)
        for name, _, doc in self.COUNTERS:
            yield CounterMetricFamily(name, doc)
        yield CounterMetricFamily(
            "nexus_api_db_pool_wait_seconds", "Total time requests waited for a connection."
        )

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        stats = self._stats() or {}
        for name, key, doc in self.GAUGES:
            yield GaugeMetricFamily(name, doc, value=stats.get(key, 0))
        for name, key, doc in self.COUNTERS:
            yield CounterMetricFamily(name, doc, value=stats.get(key, 0))
        yield CounterMetricFamily(
            "nexus_api_db_pool_wait_seconds",
            "Total time requests waited for a connection.",
            value=stats.get("requests_wait_ms", 0) / 1000.0,
        )
