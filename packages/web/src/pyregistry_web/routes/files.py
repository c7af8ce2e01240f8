"""Authenticated file downloads and PEP 658 metadata files."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import partial
from typing import Any
from urllib.parse import quote

from anyio import to_thread
from litestar import Response, get
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import File, Redirect, Stream

from pyregistry_application.services import RegistryServices
from pyregistry_web.answers import Answer
from pyregistry_web.credentials import token_from_headers
from pyregistry_web.download_abort import abort_on_refusal
from pyregistry_web.http_types import AnyRequest
from pyregistry_web.options import WebOptions
from pyregistry_web.read_ahead import answered

__all__ = ["download_file", "file_answer"]

_METADATA_SUFFIX = ".metadata"
FILE_CHUNK_BYTES = 4 * 1024 * 1024
"""Bytes read from disk per send: large enough to keep loopback transfers near disk speed, small enough
that a download holds only a few MiB of memory."""


def _content_type(filename: str) -> str:
    if filename.endswith((".whl", ".zip")):
        return "application/zip"
    if filename.endswith((".tar.gz", ".tgz")):
        return "application/gzip"
    return "application/octet-stream"


async def file_answer(
    services: RegistryServices,
    options: WebOptions,
    tenant: str,
    project: str,
    version: str,
    filename: str,
    headers: Mapping[str, str],
) -> Answer | Response[Any]:
    """A distribution file (or its ``.metadata``) with Content-Length and a strong ETag; 404 when the file is not
    part of ``version``. A local file on local disk is looked up with one read awaited on the event loop; anything
    else in a worker thread. Small files are read whole (an :class:`Answer`); large ones are streamed."""
    index = services.index
    secret = token_from_headers(headers.get("authorization"))
    if filename.endswith(_METADATA_SUFFIX):
        wheel = filename[: -len(_METADATA_SUFFIX)]
        body = await index.awaited_core_metadata(tenant, secret, project, wheel, version=version)
        if body is None:
            body = await to_thread.run_sync(
                partial(index.core_metadata, tenant, secret, project, wheel, version=version)
            )
        metadata_etag = f'"{hashlib.sha256(body).hexdigest()}"'
        metadata_headers = {"ETag": metadata_etag, "Cache-Control": "private, max-age=31536000, immutable"}
        if headers.get("if-none-match") == metadata_etag:
            return Answer(304, metadata_headers)
        return Answer(200, metadata_headers, body, "text/plain")
    accel_prefix, presign_seconds = options.accel_redirect_prefix, options.presigned_redirect_seconds
    read_small = not (accel_prefix or presign_seconds)
    download = await index.awaited_download(tenant, secret, project, filename, version=version, read_small=read_small)
    if download is None:
        download = await to_thread.run_sync(
            partial(index.download, tenant, secret, project, filename, version=version, read_small=read_small)
        )
    record = download.file
    etag = f'"{record.sha256}"'
    cache_headers = {"ETag": etag, "Cache-Control": "private, max-age=31536000, immutable"}
    if headers.get("if-none-match") == etag:
        return Answer(304, cache_headers)
    attachment = {**cache_headers, "Content-Disposition": f'attachment; filename="{record.filename}"'}
    if accel_prefix and download.local_path is not None:
        return Answer(
            200,
            {**attachment, "X-Accel-Redirect": accel_prefix + quote(record.blob_key)},
            media_type=_content_type(record.filename),
        )
    if presign_seconds and download.local_path is None and download.stream is None:
        url = await to_thread.run_sync(index.presigned_url, record, presign_seconds)
        if url is not None:
            return Redirect(url, status_code=302, headers={"Cache-Control": "private, no-store"})
    if download.content is not None:
        return Answer(200, attachment, download.content, _content_type(record.filename))
    if download.local_path is not None:
        return File(
            path=download.local_path,
            filename=record.filename,
            media_type=_content_type(record.filename),
            content_disposition_type="attachment",
            headers=cache_headers,
            etag=None,
            chunk_size=FILE_CHUNK_BYTES,
        )
    chunks = (
        await to_thread.run_sync(index.chunks, record)
        if download.stream is None
        else abort_on_refusal(download.stream, filename)
    )
    return Stream(
        chunks, media_type=_content_type(record.filename), headers={**attachment, "Content-Length": str(record.size)}
    )


@get(["/t/{tenant:str}/files/{project:str}/{version:str}/{filename:str}"], name="download-file")
async def download_file(
    request: AnyRequest,
    state: State,
    tenant: FromPath[str],
    project: FromPath[str],
    version: FromPath[str],
    filename: FromPath[str],
) -> Response[Any]:
    """Send a distribution file (or its ``.metadata``): see :func:`file_answer`."""
    return await answered(
        request,
        lambda: file_answer(state.services, state.web_options, tenant, project, version, filename, request.headers),
    )
