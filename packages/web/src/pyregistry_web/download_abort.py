"""Ending a streamed download short on purpose: the server closes the connection before the last bytes, so the
client has an incomplete transfer, and the log says why in one line instead of a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import structlog

from pyregistry_domain.errors import DomainError

__all__ = ["AbortedDownloadFilter", "DownloadAborted", "abort_on_refusal"]

_log = structlog.get_logger(__name__)


class DownloadAborted(Exception):
    """A streamed response stopped before its declared length because the file was refused mid-stream."""


def abort_on_refusal(chunks: Iterator[bytes], filename: str) -> Iterator[bytes]:
    """``chunks``; a refusal raised while streaming (hash mismatch, quarantine, upstream failure) is logged and
    becomes :class:`DownloadAborted`, which makes the server drop the connection."""
    try:
        yield from chunks
    except DomainError as exc:
        _log.warning("download.aborted", file=filename, reason=exc.message)
        raise DownloadAborted(exc.message) from None


def _is_aborted(error: BaseException | None, depth: int = 0) -> bool:
    """``error`` is, wraps or was caused by a :class:`DownloadAborted` (the framework re-raises it wrapped)."""
    if error is None or depth > 8:
        return False
    if isinstance(error, DownloadAborted):
        return True
    if isinstance(error, BaseExceptionGroup) and any(_is_aborted(inner, depth + 1) for inner in error.exceptions):
        return True
    return _is_aborted(error.__cause__ or error.__context__, depth + 1)


class AbortedDownloadFilter(logging.Filter):
    """Drops the server's "Exception in ASGI application" traceback of a :class:`DownloadAborted` (already logged
    as ``download.aborted``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and _is_aborted(record.exc_info[1]))
