"""The legacy upload endpoint twine talks to."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import structlog
from litestar import MediaType, Response, post
from litestar.datastructures import State
from litestar.params import FromPath

from pyregistry_application.dto import UploadCommand
from pyregistry_application.services import RegistryServices
from pyregistry_domain.errors import AlreadyExists
from pyregistry_web.credentials import client_ip, token_from_headers
from pyregistry_web.errors import error_response
from pyregistry_web.http_types import AnyRequest
from pyregistry_web.multipart_spool import FormSpooler, boundary_from_content_type
from pyregistry_web.options import WebOptions

__all__ = ["legacy_upload"]

FIELD_OVERHEAD_BYTES = 16 * 1024 * 1024
_log = structlog.get_logger(__name__)


@post("/t/{tenant:str}/legacy/", name="legacy-upload", request_max_body_size=None)
async def legacy_upload(request: AnyRequest, state: State, tenant: FromPath[str]) -> Response[Any]:
    """Authenticate, stream the body to a spool file while hashing it, then hand it to the use case."""
    services: RegistryServices = state.services
    options: WebOptions = state.web_options
    secret = token_from_headers(request.headers.get("authorization"))
    await anyio.to_thread.run_sync(services.access.authenticate, secret)
    limit = options.max_upload_bytes + FIELD_OVERHEAD_BYTES
    announced = request.headers.get("content-length")
    if announced is not None and announced.isdigit() and int(announced) > limit:
        return error_response(
            request, 413, f"the upload is {announced} bytes; the limit is {options.max_upload_bytes} bytes"
        )
    spooler = FormSpooler(
        boundary_from_content_type(request.headers.get("content-type")), options.spool_dir, options.max_upload_bytes
    )
    try:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                return error_response(request, 413, f"the upload is larger than {options.max_upload_bytes} bytes")
            spooler.feed(chunk)
        fields, content = spooler.finish()
        command = UploadCommand(
            tenant_slug=tenant, token_secret=secret, fields=fields, content=content, source_ip=client_ip(request)
        )
        try:
            result = await anyio.to_thread.run_sync(services.uploads.execute, command)
        except AlreadyExists as exc:
            return error_response(request, 400, exc.message)
    finally:
        spooler.discard()
    _log.info("upload.stored", tenant=tenant, filename=result.filename, size=result.size)
    return Response(
        content=f"OK: stored {result.filename} ({result.size} bytes, sha256 {result.sha256})\n",
        media_type=MediaType.TEXT,
        status_code=200,
    )
