"""E2E fixtures: a tenant of its own for each test on the module's server, so one bug fails one test."""

from __future__ import annotations

import pytest

from tests.support.server import RunningRegistry
from tests.support.tenant_access import TenantAccess, unique_slug


@pytest.fixture
def own_tenant(registry: RunningRegistry, request: pytest.FixtureRequest) -> TenantAccess:
    """A fresh tenant on the module's server for this test alone (created in-process: the CLI is not under test)."""
    slug = unique_slug(request.node.name)
    registry.create_tenant(slug)
    return TenantAccess(
        slug=slug,
        read=registry.issue_token(slug, "read", name="reader"),
        publish=registry.issue_token(slug, "read", "publish", name="publisher"),
    )
