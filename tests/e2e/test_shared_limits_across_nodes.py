"""Two ``pyregistry serve`` nodes sharing their limit counters (Redis, or the PostgreSQL fallback): a client
throttled on one node is throttled on both. Requests alternate between the nodes like a round-robin balancer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.admin import SUPERADMIN_EMAIL, AdminSession
from tests.support.postgres import postgres_schema
from tests.support.redis_server import REDIS_URL, redis_prefix
from tests.support.server import RunningRegistry, free_port, start_registry

pytestmark = pytest.mark.e2e

BURST = 5
LIMITS = {"RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_BURST": str(BURST), "RATE_LIMIT_REQUESTS_PER_MINUTE": "1"}
ATTEMPTS = 20


@contextmanager
def _shared_backend(kind: str, root: Path) -> Iterator[dict[str, str]]:
    """Settings every node gets: one metadata store and blob root, and the shared state ``kind`` names."""
    shared = {"BLOB_ROOT": str(root / "blobs"), **LIMITS}
    if kind == "postgres-fallback":
        with postgres_schema() as url:
            yield {**shared, "DATABASE_STORE": "postgres", "POSTGRES_URL": url}
        return
    sqlite = {**shared, "SQLITE_PATH": str(root / "registry.sqlite3")}
    if kind == "redis":
        with redis_prefix() as prefix:
            yield {**sqlite, "SHARED_STATE_REDIS_URL": REDIS_URL, "SHARED_STATE_REDIS_PREFIX": prefix}
        return
    yield {**sqlite, "SHARED_STATE_BACKEND": "memory"}


@contextmanager
def _two_nodes(kind: str, root: Path) -> Iterator[tuple[RunningRegistry, RunningRegistry]]:
    with _shared_backend(kind, root) as env, ExitStack() as stack:
        nodes = []
        for name in ("node-a", "node-b"):
            node = start_registry(root / name, {**env, "DATA_DIR": str(root / name / ".pyregistry")})
            stack.callback(node.stop)
            nodes.append(node)
        nodes[0].create_tenant("acme")
        yield nodes[0], nodes[1]


KINDS = [
    pytest.param("redis", marks=pytest.mark.redis, id="redis"),
    pytest.param("postgres-fallback", marks=pytest.mark.postgres, id="postgres-fallback"),
]


def _alternating(nodes: tuple[RunningRegistry, RunningRegistry], count: int) -> Iterator[RunningRegistry]:
    return (nodes[number % 2] for number in range(count))


def _unauthenticated_statuses(nodes: tuple[RunningRegistry, RunningRegistry]) -> list[int]:
    return [
        httpx.get(f"{node.base_url}/t/acme/simple/", timeout=10).status_code for node in _alternating(nodes, ATTEMPTS)
    ]


def _logins(nodes: tuple[RunningRegistry, RunningRegistry], passwords: list[str]) -> list[httpx.Response]:
    responses = []
    for node, password in zip(_alternating(nodes, len(passwords)), passwords, strict=True):
        session = AdminSession(node)
        responses.append(session.login(SUPERADMIN_EMAIL, password))
        session.client.close()
    return responses


def _failed_login_statuses(nodes: tuple[RunningRegistry, RunningRegistry]) -> list[int]:
    return [response.status_code for response in _logins(nodes, ["wrong-password"] * 8)]


@pytest.mark.parametrize("kind", KINDS)
def test_the_api_rate_limit_holds_across_both_nodes(kind: str, tmp_path: Path) -> None:
    with _two_nodes(kind, tmp_path) as nodes:
        statuses = _unauthenticated_statuses(nodes)
        refused = httpx.get(f"{nodes[1].base_url}/t/acme/simple/", timeout=10)
    assert statuses == [401] * BURST + [429] * (ATTEMPTS - BURST)
    assert refused.status_code == 429
    assert refused.text.startswith("429 too many requests from 127.0.0.1: the limit is 1 per minute with bursts of 5")


@pytest.mark.parametrize("kind", KINDS)
def test_the_login_throttle_holds_across_both_nodes(kind: str, tmp_path: Path) -> None:
    # three free failures for one account at one address, then a 2 s wait: the right password comes right after
    # the third failure (on the other node), so a slow machine cannot outlast the wait before it is tried
    passwords = ["wrong-password"] * 3 + ["admin-password-for-tests"] + ["wrong-password"] * 4
    with _two_nodes(kind, tmp_path) as nodes:
        responses = _logins(nodes, passwords)
    assert [response.status_code for response in responses] == [401, 401, 401] + [429] * 5
    throttled = responses[3]
    wait = throttled.headers["retry-after"]
    assert wait in {"1", "2"}  # 2 s after the third failure, less the time since
    assert f"Too many failed logins. Try again in {wait} seconds." in throttled.text


def test_in_process_counters_stay_per_node(tmp_path: Path) -> None:
    """The single-node default: each node counts alone, so two nodes together let twice the burst through."""
    with _two_nodes("memory", tmp_path) as nodes:
        statuses = _unauthenticated_statuses(nodes)
        logins = _failed_login_statuses(nodes)
    assert statuses == [401] * (2 * BURST) + [429] * (ATTEMPTS - 2 * BURST)
    assert logins == [401] * 6 + [429] * 2


@pytest.mark.redis
def test_redis_down_api_fails_open_and_login_fails_closed(tmp_path: Path) -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"
    env = {**LIMITS, "SHARED_STATE_REDIS_URL": down, "SHARED_STATE_TIMEOUT_SECONDS": "0.5"}
    node = start_registry(tmp_path / "node", env)
    try:
        node.create_tenant("acme")
        statuses = [httpx.get(f"{node.base_url}/t/acme/simple/", timeout=10).status_code for _ in range(3 * BURST)]
        session = AdminSession(node)
        login = session.login(SUPERADMIN_EMAIL, "admin-password-for-tests")
        session.client.close()
    finally:
        node.stop()
    log = node.log_path.read_text()
    assert statuses == [401] * (3 * BURST)
    assert login.status_code == 503
    assert "Login temporarily unavailable. Try again shortly." in login.text
    assert login.headers["retry-after"] == "30"
    assert log.count("rate_limit.unavailable") == 1  # once per interval, not once per request
    assert "requests pass unlimited (fail open)" in log
    assert "admin.login.throttle_unavailable" in log and "login refused (fail closed)" in log
    assert f"Redis at {down} is unavailable" in log
