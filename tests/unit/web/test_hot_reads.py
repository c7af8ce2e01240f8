"""The hot-read lane answers exactly what the routes answer, sends small answers itself, hands everything else to
the app without reading twice, and labels requests with the router's templates (a registry wired as the server
wires it: SQLite metadata, filesystem blobs)."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from pyregistry_bootstrap.asgi import app_from_runtime
from pyregistry_web.hot_reads import HOT_ROUTE_TEMPLATES, HotReads
from tests.support.dists import build_wheel
from tests.support.in_process_registry import Registry
from tests.support.metrics_scrape import Samples

JSON = "application/vnd.pypi.simple.v1+json"
HTML = "application/vnd.pypi.simple.v1+html"
SMALL = "demo-1.0-py3-none-any.whl"
LARGE = "bulky-2.0-py3-none-any.whl"


class CountingApp:
    """The Litestar app, counting the requests that reach it."""

    def __init__(self, app: Litestar) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


class Lane:
    """One registry; the same app behind the hot lane and on its own."""

    def __init__(self, root: Path) -> None:
        self.registry = Registry(root, export_metrics=True)
        self.registry.upload_wheel("demo", "1.0")
        bulky = build_wheel(root / "bulky", "bulky", "2.0", extra_files={"bulky/blob.bin": os.urandom(1536 * 1024)})
        self.registry.upload(bulky)
        self.app = app_from_runtime(self.registry.runtime)
        self.counting = CountingApp(self.app)
        self.hot = HotReads(self.app)
        self.hot.app = self.counting
        self.auth = {
            "Authorization": "Basic " + base64.b64encode(f"__token__:{self.registry.secret}".encode()).decode()
        }

    def downloads(self) -> float:
        prometheus = self.registry.runtime.prometheus
        assert prometheus is not None
        return Samples(prometheus.exposition()[0].decode()).get("pyregistry_downloads_total", source="local")


@pytest.fixture
def lane(tmp_path: Path) -> Iterator[Lane]:
    yield Lane(tmp_path)


def _answer(client: TestClient[Any], path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    response = client.get(path, headers=headers, follow_redirects=False)
    return response.status_code, dict(response.headers), response.content


def _requests(lane: Lane) -> list[tuple[str, dict[str, str]]]:
    auth = lane.auth
    bad = {"Authorization": "Basic " + base64.b64encode(b"__token__:pyr_nope").decode()}
    return [
        ("/t/acme/simple/", auth),
        ("/t/acme/simple/", {**auth, "Accept": JSON}),
        ("/t/acme/simple/demo/", {**auth, "Accept": HTML}),
        ("/t/acme/simple/demo/", {**auth, "Accept": JSON}),
        ("/t/acme/legacy/+simple/demo/", auth),
        ("/t/acme/simple/Demo/", auth),
        ("/t/acme/simple/missing/", auth),
        ("/t/acme/simple/demo/", {**auth, "Accept": "image/png"}),
        ("/t/acme/simple/demo/", {}),
        ("/t/acme/simple/demo/", bad),
        ("/t/other/simple/demo/", auth),
        (f"/t/acme/files/demo/1.0/{SMALL}", auth),
        (f"/t/acme/files/demo/1.0/{SMALL}.metadata", auth),
        (f"/t/acme/files/demo/2.0/{SMALL}", auth),
        (f"/t/acme/files/bulky/2.0/{LARGE}", auth),
        (f"/t/acme/files/demo/1.0/{SMALL}", {}),
    ]


def test_the_lane_answers_what_the_routes_answer(lane: Lane) -> None:
    requests = _requests(lane)
    with TestClient(app=lane.hot) as client:
        through_lane = [_answer(client, path, headers) for path, headers in requests]
        etags = [answer[1].get("etag") for answer in through_lane]
        revalidated = [
            _answer(client, path, {**headers, "If-None-Match": etag})
            for (path, headers), etag in zip(requests, etags, strict=True)
            if etag
        ]
    with TestClient(app=lane.app) as client:
        through_routes = [_answer(client, path, headers) for path, headers in requests]
        revalidated_by_routes = [
            _answer(client, path, {**headers, "If-None-Match": etag})
            for (path, headers), etag in zip(requests, etags, strict=True)
            if etag
        ]
    assert through_lane == through_routes
    assert revalidated == revalidated_by_routes
    statuses = [status for status, _, _ in through_lane]
    assert statuses == [200, 200, 200, 200, 200, 301, 404, 406, 401, 401, 403, 200, 200, 404, 200, 401]
    assert {status for status, _, _ in revalidated} == {304}


def test_small_answers_never_reach_the_router_and_the_rest_is_read_once(lane: Lane) -> None:
    auth = lane.auth
    with TestClient(app=lane.hot) as client:
        for path in ("/t/acme/simple/", "/t/acme/simple/demo/", f"/t/acme/files/demo/1.0/{SMALL}"):
            assert client.get(path, headers=auth).status_code == 200
        assert client.get(f"/t/acme/files/demo/1.0/{SMALL}.metadata", headers=auth).status_code == 200
        assert lane.counting.paths == []
        before = lane.downloads()
        large = client.get(f"/t/acme/files/bulky/2.0/{LARGE}", headers=auth)
        assert large.status_code == 200 and len(large.content) > 1024 * 1024
        assert lane.downloads() == before + 1
        assert client.get("/t/acme/simple/missing/", headers=auth).status_code == 404
        assert client.get("/t/acme/simple/demo", headers=auth).status_code == 200
        assert client.head("/t/acme/simple/demo/", headers=auth).status_code in (200, 405)
    assert lane.counting.paths == [
        f"/t/acme/files/bulky/2.0/{LARGE}",
        "/t/acme/simple/missing/",
        "/t/acme/simple/demo",
        "/t/acme/simple/demo/",
    ]


def test_the_lane_labels_requests_with_the_router_templates(lane: Lane) -> None:
    samples = {
        "simple-index": "/t/acme/simple/",
        "simple-project": "/t/acme/simple/demo/",
        "legacy-simple-project": "/t/acme/legacy/+simple/demo/",
        "download-file": f"/t/acme/files/demo/1.0/{SMALL}",
    }
    for name, path in samples.items():
        routed = lane.app.asgi_router.handle_routing(path=path.rstrip("/"), method="GET")
        assert (routed[1].name, routed[4]) == (name, HOT_ROUTE_TEMPLATES[name])
    seen: list[str] = []

    async def spy(scope: Any, receive: Any, send: Any) -> None:
        await lane.hot(scope, receive, send)
        if scope["type"] == "http":
            seen.append(scope.get("path_template", ""))

    with TestClient(app=spy) as client:
        for path in samples.values():
            assert client.get(path, headers=lane.auth).status_code == 200
    assert seen == list(HOT_ROUTE_TEMPLATES.values())
