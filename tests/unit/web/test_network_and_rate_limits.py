"""The network guard middleware (source networks and rate limits) in process, in front of a minimal ASGI app."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from pyregistry_application.limit_counters import BucketDecision, BucketLimits
from pyregistry_bootstrap.asgi import network_guard_options, web_options
from pyregistry_infrastructure.settings import NetworkSourceSettings, RateLimitSettings, Settings, WebUiSettings
from pyregistry_infrastructure.shared_state.memory import MemoryLimitCounters
from pyregistry_infrastructure.shared_state.redis_counters import RedisLimitCounters
from pyregistry_web.authorized_requests import RequestAuthorizationRecorder
from pyregistry_web.network_and_rate_limits import (
    NetworkGuard,
    NetworkGuardOptions,
    NetworkSourceOptions,
    RateLimitOptions,
)
from tests.support.server import free_port


class Clock:
    """A monotonic millisecond clock the test advances by hand."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


async def _inner_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


def call(
    guard: NetworkGuard, path: str, peer: str | None = "127.0.0.1", headers: dict[str, str] | None = None
) -> Answer:
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "client": (peer, 40000) if peer else None,
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    asyncio.run(guard(scope, receive, send))  # type: ignore[arg-type]
    start = messages[0]
    body = b"".join(m.get("body", b"") for m in messages[1:])
    return Answer(start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body)


def limited(
    burst: int = 2,
    per_minute: int = 30,
    trust: bool = False,
    clock: Clock | None = None,
    count_successful: bool = True,
    app: Any = _inner_app,
) -> NetworkGuard:
    """A guard whose bucket is spent by every request (``count_successful``) or only by failing ones."""
    options = NetworkGuardOptions(
        rate_limit=RateLimitOptions(
            requests_per_minute=per_minute,
            burst=burst,
            trust_proxy_headers=trust,
            count_successful_requests=count_successful,
        )
    )
    return NetworkGuard(app, options, MemoryLimitCounters(clock_ms=clock or Clock()))


async def _status_by_path(scope: dict[str, Any], receive: Any, send: Any) -> None:
    status = 404 if scope["path"].endswith("/missing/") else 200
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"answer"})


async def _crashing_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    raise RuntimeError("the app failed before answering")


def test_successful_answers_give_their_token_back_by_default() -> None:
    guard = limited(burst=2, per_minute=1, count_successful=False, app=_status_by_path)
    assert [call(guard, "/t/acme/simple/pkg/").status for _ in range(50)] == [200] * 50
    assert [call(guard, "/t/acme/simple/missing/").status for _ in range(3)] == [404, 404, 429]
    assert call(guard, "/t/acme/simple/pkg/").status == 429


async def _authorizing_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Authorizes in a worker thread, as the sync handlers do, then answers the status named by the path."""
    status = int(scope["path"].rstrip("/").rsplit("/", 1)[-1])
    await asyncio.to_thread(RequestAuthorizationRecorder().token_authorized, None)  # type: ignore[arg-type]
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"answer"})


def test_answers_to_an_authorized_token_give_their_token_back_except_refusals() -> None:
    guard = limited(burst=2, per_minute=1, count_successful=False, app=_authorizing_app)
    assert [call(guard, "/t/acme/simple/404/").status for _ in range(50)] == [404] * 50
    assert [call(guard, "/t/acme/simple/403/").status for _ in range(3)] == [403, 403, 429]


def test_authorizing_outside_a_request_is_ignored() -> None:
    RequestAuthorizationRecorder().token_authorized(None)  # type: ignore[arg-type]
    guard = limited(burst=1, per_minute=1, count_successful=False, app=_status_by_path)
    assert [call(guard, "/t/acme/simple/missing/").status for _ in range(2)] == [404, 429]


def test_a_request_that_crashes_keeps_its_token_spent() -> None:
    guard = limited(burst=1, per_minute=1, count_successful=False, app=_crashing_app)
    with pytest.raises(RuntimeError):
        call(guard, "/t/acme/simple/")
    assert call(guard, "/t/acme/simple/").status == 429


def test_api_burst_then_429_with_rounded_up_retry_after() -> None:
    clock = Clock()
    guard = limited(burst=2, per_minute=40, clock=clock)
    assert [call(guard, "/t/acme/simple/").status for _ in range(2)] == [200, 200]
    refused = call(guard, "/t/acme/simple/")
    assert refused.status == 429
    assert refused.headers["retry-after"] == "2"  # 1.5 s until the next token, rounded up
    assert refused.headers["content-type"].startswith("text/plain")
    assert refused.body.decode().startswith("429 too many requests from 127.0.0.1")
    assert "40 per minute with bursts of 2" in refused.body.decode()
    clock.now += 1500
    assert call(guard, "/t/acme/simple/").status == 200


def test_oidc_refusal_is_json_and_other_api_paths_share_the_bucket() -> None:
    guard = limited(burst=1)
    assert call(guard, "/t/acme/files/x/1/x-1.tar.gz").status == 200
    refused = call(guard, "/_/oidc/mint-token")
    assert refused.status == 429
    body = json.loads(refused.body)
    assert body["status"] == 429 and "too many requests" in body["message"]


def test_health_and_web_ui_are_not_rate_limited() -> None:
    guard = limited(burst=1)
    call(guard, "/t/acme/simple/")
    assert call(guard, "/t/acme/simple/").status == 429
    assert {call(guard, path).status for path in ["/healthz", "/", "/admin/login", "/static/a.css"] * 3} == {200}


def test_spoofed_forwarded_for_is_ignored_unless_trusted() -> None:
    untrusted = limited(burst=1)
    assert call(untrusted, "/t/a/simple/", headers={"X-Forwarded-For": "198.51.100.1"}).status == 200
    assert call(untrusted, "/t/a/simple/", headers={"X-Forwarded-For": "198.51.100.2"}).status == 429
    trusted = limited(burst=1, trust=True)
    assert call(trusted, "/t/a/simple/", headers={"X-Forwarded-For": "198.51.100.1"}).status == 200
    assert call(trusted, "/t/a/simple/", headers={"X-Forwarded-For": "198.51.100.2"}).status == 200
    refused = call(trusted, "/t/a/simple/", headers={"X-Forwarded-For": "198.51.100.2"})
    assert refused.status == 429 and b"198.51.100.2" in refused.body


def test_source_networks_per_zone() -> None:
    options = NetworkGuardOptions(
        network_source=NetworkSourceOptions(web_ui_allowed_cidrs=("127.0.0.0/8",), api_allowed_cidrs=("10.0.0.0/8",))
    )
    guard = NetworkGuard(_inner_app, options)  # type: ignore[arg-type]
    assert call(guard, "/admin/login").status == 200
    assert call(guard, "/admin/login", peer="::ffff:127.0.0.1").status == 200
    refused = call(guard, "/t/acme/simple/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    assert refused.status == 403
    assert json.loads(refused.body)["message"] == "the package API does not accept requests from 127.0.0.1"
    assert call(guard, "/t/acme/simple/", peer="10.1.2.3").status == 200
    web_refused = call(guard, "/", peer="10.1.2.3")
    assert web_refused.status == 403
    assert web_refused.body == b"403 the web UI does not accept requests from 10.1.2.3\n"
    assert call(guard, "/healthz", peer="203.0.113.1").status == 200
    assert call(guard, "/t/acme/simple/", peer=None).body.endswith(b"from an unknown address\n")


def test_source_check_trusts_proxy_headers_only_with_its_own_flag() -> None:
    def guard(trust: bool) -> NetworkGuard:
        source = NetworkSourceOptions(api_allowed_cidrs=("10.0.0.0/8",), trust_proxy_headers=trust)
        return NetworkGuard(_inner_app, NetworkGuardOptions(network_source=source))  # type: ignore[arg-type]

    assert call(guard(True), "/t/a/simple/", headers={"Forwarded": "for=10.0.0.5"}).status == 200
    assert call(guard(False), "/t/a/simple/", headers={"Forwarded": "for=10.0.0.5"}).status == 403


def test_lifespan_and_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    options = NetworkGuardOptions(rate_limit=RateLimitOptions(requests_per_minute=1, burst=1))
    guard = NetworkGuard(app, options, MemoryLimitCounters())  # type: ignore[arg-type]

    async def nothing() -> dict[str, Any]:
        return {}

    async def ignore(message: dict[str, Any]) -> None:
        return None

    asyncio.run(guard({"type": "lifespan"}, nothing, ignore))  # type: ignore[arg-type]
    assert seen == ["lifespan"]


def test_bootstrap_maps_settings_to_guard_options() -> None:
    settings = Settings(
        rate_limit=RateLimitSettings(
            requests_per_minute=30,
            burst=7,
            max_tracked_clients=50,
            trust_proxy_headers=True,
            count_successful_requests=True,
        ),
        network_source=NetworkSourceSettings(api_allowed_cidrs=["10.0.0.0/8"], web_ui_allowed_cidrs=["::1/128"]),
    )
    options = network_guard_options(settings)
    assert options.rate_limit == RateLimitOptions(
        requests_per_minute=30,
        burst=7,
        trust_proxy_headers=True,
        count_successful_requests=True,
    )
    assert options.network_source == NetworkSourceOptions(
        web_ui_allowed_cidrs=("::1/128",), api_allowed_cidrs=("10.0.0.0/8",), trust_proxy_headers=False
    )
    disabled = Settings(rate_limit=RateLimitSettings(enabled=False))
    assert network_guard_options(disabled).rate_limit is None


def test_bootstrap_marks_cookies_secure_when_configured_or_a_proxy_is_trusted(tmp_path: Path) -> None:
    def options(**sections: object) -> tuple[bool, bool]:
        made = web_options(Settings(**sections), spool_dir=tmp_path, cookie_secret="s")  # type: ignore[arg-type]
        return made.secure_cookies, made.trust_forwarded_proto

    assert options() == (False, False)
    assert options(web_ui=WebUiSettings(secure_cookies=True)) == (True, False)
    assert options(network_source=NetworkSourceSettings(trust_proxy_headers=True)) == (False, True)
    assert options(rate_limit=RateLimitSettings(trust_proxy_headers=True)) == (False, True)


class CountingCounters(RedisLimitCounters):
    """The Redis adapter, counting the calls that reach it."""

    takes = 0

    def take_token(self, key: str, limits: BucketLimits) -> BucketDecision:
        self.takes += 1
        return super().take_token(key, limits)


def test_rate_limit_fails_open_with_one_error_line_per_interval_when_the_store_is_down() -> None:
    now = [0.0]
    options = NetworkGuardOptions(rate_limit=RateLimitOptions(requests_per_minute=1, burst=1))
    down = CountingCounters(f"redis://127.0.0.1:{free_port()}/0", timeout_seconds=0.5)
    guard = NetworkGuard(_inner_app, options, down, blocking_counters=True, monotonic=lambda: now[0])  # type: ignore[arg-type]
    statuses, takes = [], []
    with capture_logs() as logs:
        for moment in (0.0, 1.0, 4.0, 6.0, 7.0, 61.0):
            now[0] = moment
            statuses.append(call(guard, "/t/acme/simple/").status)
            takes.append(down.takes)
    assert statuses == [200] * 6
    assert takes == [1, 1, 1, 2, 2, 3]  # after a failure the store is left alone for 5 s
    errors = [entry for entry in logs if entry["event"] == "rate_limit.unavailable"]
    assert [entry["log_level"] for entry in errors] == ["error", "error"]  # at 0 s and again after the 60 s interval
    assert errors[0]["behaviour"] == "requests pass unlimited (fail open)"
    assert errors[0]["reason"].startswith("Redis at redis://127.0.0.1:")
    assert "Connection refused" in errors[0]["reason"]
    down.close()
