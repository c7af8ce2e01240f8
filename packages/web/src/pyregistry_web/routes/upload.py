"""The legacy upload endpoint twine talks to."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio.to_thread
import structlog
from litestar import MediaType, Response, post
from litestar.datastructures import State
from litestar.params import FromPath

from pyregistry_application.dto import UploadCommand
from pyregistry_application.services import RegistryServices
from pyregistry_application.upload_gate import UploadPermit
from pyregistry_domain.errors import AlreadyExists, DomainError
from pyregistry_domain.names import normalize_project_name
from pyregistry_web.credentials import client_ip, token_from_headers
from pyregistry_web.errors import BASIC_CHALLENGE, error_response, status_for
from pyregistry_web.http_types import AnyRequest
from pyregistry_web.multipart_spool import FieldCheck, FormRefused, FormSpooler, boundary_from_content_type
from pyregistry_web.options import WebOptions
from pyregistry_web.page_rebuilder import PageRebuilder

__all__ = ["legacy_upload"]

FIELD_OVERHEAD_BYTES = 16 * 1024 * 1024
MAX_AUDITED_NAME = 200
PAGES_READY_WAIT_SECONDS = 10.0
"""How long an upload's answer waits for its project page and root index to be rendered again."""
_log = structlog.get_logger(__name__)


def _refused_early(request: AnyRequest, error: DomainError) -> Response[Any]:
    """A refusal answered before the body is read: the connection closes, so the rest is never received."""
    status = status_for(error)
    headers = {"Connection": "close", **(BASIC_CHALLENGE if status == 401 else {})}
    return error_response(request, status, error.message, headers)


async def _pages_ready(rebuilder: PageRebuilder, tenant: str, project: str) -> None:
    """Wait (at most :data:`PAGES_READY_WAIT_SECONDS`) for the upload's pages to be rendered again, so the install
    that usually follows an upload reads them from the cache."""
    rebuilt = asyncio.wrap_future(rebuilder.schedule(tenant, project))
    try:
        await asyncio.wait_for(asyncio.shield(rebuilt), PAGES_READY_WAIT_SECONDS)
    except TimeoutError:
        _log.info("upload.pages_pending", tenant=tenant, project=project, waited=PAGES_READY_WAIT_SECONDS)


def _field_check(permit: UploadPermit) -> FieldCheck:
    def check(key: str, value: str) -> None:
        if key == "name":
            permit.check_project(value)

    return check


@post("/t/{tenant:str}/legacy/", name="legacy-upload", request_max_body_size=None)
async def legacy_upload(request: AnyRequest, state: State, tenant: FromPath[str]) -> Response[Any]:
    """Authorize token, scope and tenant before reading the body, check a project-scoped token against the form's
    ``name`` before the file part, stream the file to a spool file while hashing it, then hand it to the use case."""
    services: RegistryServices = state.services
    options: WebOptions = state.web_options
    secret = token_from_headers(request.headers.get("authorization"))
    source_ip = client_ip(request)
    gate = services.uploads.gate
    try:
        permit = await anyio.to_thread.run_sync(gate.admit, tenant, secret, source_ip)
    except DomainError as exc:
        _log.info("upload.refused", tenant=tenant, reason=exc.message)
        return _refused_early(request, exc)
    max_upload_bytes = services.uploads.max_upload_bytes
    limit = max_upload_bytes + FIELD_OVERHEAD_BYTES
    announced = request.headers.get("content-length")
    if announced is not None and announced.isdigit() and int(announced) > limit:
        return error_response(
            request,
            413,
            f"the upload is {announced} bytes; the limit is {max_upload_bytes} bytes",
            {"Connection": "close"},
        )
    spooler = FormSpooler(
        boundary_from_content_type(request.headers.get("content-type")),
        options.spool_dir,
        max_upload_bytes,
        on_field=_field_check(permit),
        before_file=permit.check_file_may_start,
    )
    try:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                return error_response(
                    request,
                    413,
                    f"the upload is larger than {max_upload_bytes} bytes",
                    {"Connection": "close"},
                )
            spooler.feed(chunk)
        fields, content = spooler.finish()
        command = UploadCommand(
            tenant_slug=tenant, token_secret=secret, fields=fields, content=content, source_ip=source_ip
        )
        try:
            result = await anyio.to_thread.run_sync(services.uploads.execute, command)
        except AlreadyExists as exc:
            return error_response(request, 400, exc.message)
    except FormRefused as refused:
        names = spooler.fields.get("name")
        project = names[0][:MAX_AUDITED_NAME] if names else None
        await anyio.to_thread.run_sync(gate.record_refusal, tenant, permit.token, refused.error, source_ip, project)
        _log.info("upload.refused", tenant=tenant, project=project, reason=refused.error.message)
        return _refused_early(request, refused.error)
    finally:
        spooler.discard()
    _log.info("upload.stored", tenant=tenant, filename=result.filename, size=result.size)
    rebuilder: PageRebuilder = state.page_rebuilder
    await _pages_ready(rebuilder, tenant, normalize_project_name(result.project))
    return Response(
        content=f"OK: stored {result.filename} ({result.size} bytes, sha256 {result.sha256})\n",
        media_type=MediaType.TEXT,
        status_code=200,
    )
