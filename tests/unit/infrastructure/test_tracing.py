"""OpenTelemetry traces in-process with the SDK's in-memory exporter: one span per request carrying the request id,
database and storage spans as its children, upstream calls wrapped the same way; nothing traced when off."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pyregistry_bootstrap.asgi import served_app
from pyregistry_bootstrap.observability_wiring import build_tracer
from pyregistry_bootstrap.wiring import Runtime, build_runtime
from pyregistry_domain.errors import NotFound
from pyregistry_infrastructure.config import ConfigError
from pyregistry_infrastructure.otel_tracing import (
    OpenTelemetryTracer,
    TracedCalls,
    exporter_from_environment,
    tracer_provider,
)
from pyregistry_infrastructure.settings import TracingSettings
from tests.support.dists import build_wheel
from tests.support.memory_upstream import MemoryUpstream
from tests.support.settings import runtime_settings

REQUEST_ID = "trace-test-0001"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(exporter: InMemorySpanExporter) -> Iterator[OpenTelemetryTracer]:
    tracer = OpenTelemetryTracer(tracer_provider(SimpleSpanProcessor(exporter)))
    yield tracer
    tracer.shutdown()


def traced_runtime(root: Path, tracer: OpenTelemetryTracer) -> tuple[Runtime, str]:
    runtime = build_runtime(runtime_settings(root), tracer=tracer)
    services = runtime.services
    services.tenants.create_tenant(
        slug="acme", display_name="Acme", admin_email=None, admin_password=None, mirroring_enabled=False, actor="t"
    )
    secret = services.tokens.issue(tenant_slug="acme", name="ci", scopes=["read", "publish"], actor="t").secret
    return runtime, secret


def request_spans(spans: tuple[ReadableSpan, ...]) -> list[ReadableSpan]:
    """The per-request spans (start-up work, such as the lifespan's first queries, has spans of its own)."""
    return [span for span in spans if span.attributes and "pyregistry.request_id" in span.attributes]


def children_of(spans: tuple[ReadableSpan, ...], parent: ReadableSpan) -> list[str]:
    assert parent.context is not None
    return sorted(
        span.name for span in spans if span.parent is not None and span.parent.span_id == parent.context.span_id
    )


def test_an_upload_is_one_request_span_with_database_and_storage_children(
    tmp_path: Path, tracer: OpenTelemetryTracer, exporter: InMemorySpanExporter
) -> None:
    runtime, secret = traced_runtime(tmp_path, tracer)
    wheel = build_wheel(tmp_path / "dist", "traced-lib", "1.0.0")
    content = wheel.read_bytes()
    exporter.clear()
    with TestClient(app=served_app(runtime)) as client:
        response = client.post(
            "/t/acme/legacy/",
            auth=("__token__", secret),
            headers={"X-Request-ID": REQUEST_ID},
            data={":action": "file_upload", "name": "traced-lib", "version": "1.0.0",
                  "sha256_digest": hashlib.sha256(content).hexdigest()},
            files={"content": (wheel.name, content, "application/octet-stream")},
        )  # fmt: skip
    assert response.status_code == 200, response.text

    spans = exporter.get_finished_spans()
    [root] = request_spans(spans)
    assert root.name == "POST /t/{tenant}/legacy"
    assert root.parent is None
    assert root.attributes is not None
    assert root.attributes["pyregistry.request_id"] == REQUEST_ID
    assert root.attributes["http.route"] == "/t/{tenant}/legacy"
    assert root.attributes["http.response.status_code"] == 200
    children = set(children_of(spans, root))
    assert children == {"db.query", "db.transaction", "storage.open", "storage.rename"}  # wheel and its METADATA


def test_an_unrouted_request_keeps_its_generic_name(
    tmp_path: Path, tracer: OpenTelemetryTracer, exporter: InMemorySpanExporter
) -> None:
    runtime, _ = traced_runtime(tmp_path, tracer)
    exporter.clear()
    with TestClient(app=served_app(runtime)) as client:
        assert client.get("/nowhere").status_code == 404

    [span] = request_spans(exporter.get_finished_spans())
    assert span.name == "GET request"
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 404
    assert "http.route" not in span.attributes


def test_upstream_calls_are_child_spans(tracer: OpenTelemetryTracer, exporter: InMemorySpanExporter) -> None:
    upstream = TracedCalls(MemoryUpstream(), "upstream", tracer)
    with tracer.span("parent"), pytest.raises(NotFound):
        upstream.fetch_project("tool")

    by_name = {span.name: span for span in exporter.get_finished_spans()}
    assert set(by_name) == {"parent", "upstream.fetch_project"}
    child = by_name["upstream.fetch_project"]
    assert child.parent is not None and by_name["parent"].context is not None
    assert child.parent.span_id == by_name["parent"].context.span_id
    assert child.status.status_code.name == "ERROR"


def test_tracing_is_off_by_default_and_the_exporter_name_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert build_tracer(runtime_settings(Path("/nonexistent"))) is None
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    settings = runtime_settings(Path("/nonexistent"), tracing=TracingSettings(enabled=True))
    with pytest.raises(ConfigError, match="OTEL_TRACES_EXPORTER='zipkin' is not one of otlp, console, none"):
        build_tracer(settings)


@pytest.mark.slow
def test_serving_without_tracing_imports_no_opentelemetry_sdk(tmp_path: Path) -> None:
    """(Litestar itself imports the small ``opentelemetry`` API package whenever it is installed.)"""
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from pyregistry_bootstrap.asgi import served_app\n"
        "from pyregistry_bootstrap.observability_wiring import build_tracer\n"
        "from pyregistry_bootstrap.wiring import build_runtime\n"
        "from tests.support.settings import runtime_settings\n"
        f"settings = runtime_settings(Path({str(tmp_path)!r}))\n"
        "served_app(build_runtime(settings, export_metrics=True, tracer=build_tracer(settings)))\n"
        "wanted = ('opentelemetry.sdk', 'opentelemetry.exporter', 'prometheus_client')\n"
        "print(sorted({name for name in sys.modules if name in wanted}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=Path(__file__).parents[3]
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['prometheus_client']"


@pytest.mark.parametrize(
    ("name", "exporter_type"),
    [("none", None), ("console", "ConsoleSpanExporter"), ("otlp", "OTLPSpanExporter"), (None, "OTLPSpanExporter")],
)
def test_the_exporter_follows_otel_traces_exporter(
    monkeypatch: pytest.MonkeyPatch, name: str | None, exporter_type: str | None
) -> None:
    if name is None:
        monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    else:
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", name)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    exporter = exporter_from_environment()

    assert (type(exporter).__name__ if exporter is not None else None) == exporter_type
    provider = tracer_provider()
    try:
        assert provider.resource.attributes["service.name"] == "pyregistry"
    finally:
        provider.shutdown()


def test_otel_service_name_names_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "registry-eu")
    provider = tracer_provider()

    assert provider.resource.attributes["service.name"] == "registry-eu"
