"""A registry mirroring a loopback upstream with the tests' own YARA rule, for the scan-before-serve tests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import pytest

from tests.support.fault_upstream import FaultyUpstream
from tests.support.malicious import DROPPER_RULE
from tests.support.server import RunningRegistry, start_registry

__all__ = ["scanning_mirror"]


@contextmanager
def scanning_mirror(
    tmp_path_factory: pytest.TempPathFactory, upstream: FaultyUpstream, env: Mapping[str, str], *tenants: str
) -> Iterator[RunningRegistry]:
    """A server mirroring ``upstream`` (no eager downloads) whose YARA rules are :data:`DROPPER_RULE` only, with
    the mirroring ``tenants``; stopped on exit."""
    rules = tmp_path_factory.mktemp("rules")
    (rules / "dropper.yar").write_text(DROPPER_RULE)
    settings = {"PYPI_BASE_URL": upstream.url, "PYPI_MIRROR_EAGER_DOWNLOAD_PERCENT": "0", "YARA_RULES_PATH": str(rules)}
    server = start_registry(tmp_path_factory.mktemp("mirror"), {**settings, **env})
    try:
        for tenant in tenants:
            server.create_tenant(tenant, "--enable-mirroring")
        yield server
    finally:
        server.stop()
