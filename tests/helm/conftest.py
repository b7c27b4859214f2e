"""Session-scoped renders of helm/nexus, shared by every test in tests/helm."""

from __future__ import annotations

import pytest
from tests.helm.helmchart import KUBE_VERSIONS, VALUES_FILES, Rendered, render_file

COMBOS = [(f, v) for f in VALUES_FILES for v in KUBE_VERSIONS]


@pytest.fixture(scope="session", params=COMBOS, ids=[f"{f}-k8s{v}" for f, v in COMBOS])
def rendered(request: pytest.FixtureRequest) -> Rendered:
    """Every values file x every Kubernetes version."""
    values_file, kube_version = request.param
    return render_file(values_file, kube_version)


@pytest.fixture(scope="session", params=VALUES_FILES)
def rendered_latest(request: pytest.FixtureRequest) -> Rendered:
    """Every values file, newest Kubernetes version (for behaviour that does not depend on the version)."""
    return render_file(request.param, KUBE_VERSIONS[-1])


@pytest.fixture(scope="session")
def primary() -> Rendered:
    return render_file("values-primary.yaml", KUBE_VERSIONS[-1])


@pytest.fixture(scope="session")
def dr() -> Rendered:
    return render_file("values-dr.yaml", KUBE_VERSIONS[-1])
