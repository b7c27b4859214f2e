"""Independent reads of the world made side by side: network round trips, not CPU, so threads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

K = TypeVar("K")


def side_by_side(calls: Mapping[K, Callable[[], Any]]) -> dict[K, Any]:
    """Each call's result by its key, every call in a thread of its own. The first exception raised (in the
    mapping's order) is raised again, once every call has ended."""
    if len(calls) <= 1:
        return {key: call() for key, call in calls.items()}
    with ThreadPoolExecutor(max_workers=len(calls), thread_name_prefix="nexus-read") as pool:
        futures = {key: pool.submit(call) for key, call in calls.items()}
    return {key: future.result() for key, future in futures.items()}
