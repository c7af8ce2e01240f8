"""Operations endpoints: ``/readyz`` for load balancers and ``/metrics`` for Prometheus."""

from __future__ import annotations

import hmac
from typing import Any

import msgspec
import structlog
from litestar import Response, get
from litestar.datastructures import State

from pyregistry_application.metrics_ports import MetricsExposition
from pyregistry_application.readiness import ReadinessReport
from pyregistry_application.services import RegistryServices
from pyregistry_web.client_address import client_address
from pyregistry_web.errors import error_response
from pyregistry_web.http_types import AnyRequest

__all__ = ["MetricsAccess", "metrics_endpoint", "readiness"]

_log = structlog.get_logger(__name__)


class MetricsAccess(msgspec.Struct, frozen=True, kw_only=True):
    """Who may scrape ``/metrics``: holders of ``token`` when one is set, else loopback peers only unless the
    API network rules (``network_source.api_allowed_cidrs``) already restrict the sources."""

    token: str | None = None
    loopback_only: bool = True


@get("/readyz", name="readiness", sync_to_thread=True, include_in_schema=False)
def readiness(state: State) -> Response[ReadinessReport]:
    """200 when every dependency answers, else 503 naming those that did not."""
    services: RegistryServices = state.services
    if services.readiness is None:
        report = ReadinessReport(ready=True, checked=[], failed=[])
        return Response(report, status_code=200, headers={"Cache-Control": "no-store"})
    report, errors = services.readiness.check()
    for name, error in errors.items():
        _log.warning("readiness.failed", dependency=name, error=str(error) or type(error).__name__)
    return Response(report, status_code=200 if report.ready else 503, headers={"Cache-Control": "no-store"})


def _refusal(request: AnyRequest, access: MetricsAccess) -> Response[Any] | None:
    if access.token is not None:
        header = request.headers.get("authorization") or ""
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), access.token.encode()):
            message = "metrics need the bearer token configured as metrics.token"
            return error_response(request, 401, message, {"WWW-Authenticate": 'Bearer realm="pyregistry metrics"'})
        return None
    if access.loopback_only:
        peer = client_address(request.scope, trust_proxy_headers=False)
        if peer is None or not peer.is_loopback:
            message = (
                "metrics are served only to loopback clients until metrics.token or "
                "network_source.api_allowed_cidrs is set"
            )
            return error_response(request, 403, message)
    return None


@get("/metrics", name="metrics", sync_to_thread=True, include_in_schema=False)
def metrics_endpoint(request: AnyRequest, state: State) -> Response[Any]:
    """The Prometheus text exposition of every worker's metrics."""
    refusal = _refusal(request, state.metrics_access)
    if refusal is not None:
        return refusal
    exposition: MetricsExposition = state.metrics_exposition
    body, content_type = exposition.exposition()
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
