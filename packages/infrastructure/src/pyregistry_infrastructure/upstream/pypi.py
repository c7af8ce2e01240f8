"""httpx client for an upstream Simple Repository API (PyPI, pypiserver, devpi, another pyregistry)."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

import httpx
import structlog

from pyregistry_application.mirror_ports import UpstreamProject, UpstreamStream
from pyregistry_domain.errors import NotFound, UpstreamUnavailable
from pyregistry_infrastructure.upstream.egress import EgressOptions, build_http_client
from pyregistry_infrastructure.upstream.locations import UpstreamLocations, default_file_hosts
from pyregistry_infrastructure.upstream.simple_parsing import parse_project_html, parse_project_json
from pyregistry_infrastructure.upstream.urls import host_port, origin_of, redact

__all__ = ["UNTRUSTED_CERTIFICATE", "HttpUpstreamIndex", "index_url_for"]

_log = structlog.get_logger(__name__)
_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
_RETRY_STATUSES = frozenset({408, 429})
_MAX_RETRY_AFTER_SECONDS = 60.0
_CHUNK = 256 * 1024
_PROGRESS_BYTES = 64 * 1024
_CLOSED = "the mirror is shutting down"
_MAX_REDIRECTS = 5
UNREACHABLE = "upstream is unreachable"
UNTRUSTED_CERTIFICATE = (
    "upstream TLS certificate is not trusted: add its CA to pypi.ca_bundle (PYPI_CA_BUNDLE) or SSL_CERT_FILE"
)


def index_url_for(base_url: str) -> tuple[str, httpx.BasicAuth | None]:
    """The simple index URL for ``base_url`` (credentials removed) and the credentials from its userinfo."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"pypi.base_url {base_url!r} must be an http(s) URL")
    auth = None
    if parts.username or parts.password:
        auth = httpx.BasicAuth(unquote(parts.username or ""), unquote(parts.password or ""))
    path = parts.path.rstrip("/")
    if not path.endswith("/simple"):
        path += "/simple"
    return urlunsplit((parts.scheme, host_port(parts), path + "/", "", "")), auth


def _untrusted_certificate(exc: BaseException) -> bool:
    """Whether a transport error was a failed certificate check (httpx wraps the ``ssl`` error)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


class HttpUpstreamIndex:
    """Timeouts, byte caps and retries (connection errors, 408, 429, 5xx; exponential backoff, Retry-After).

    ``timeout_seconds`` bounds connecting and every read, and also whole transfers: a project page or metadata
    file must arrive completely within it (counted from sending the request), and a distribution file must make
    progress, at least 64 KiB (or its remaining bytes) in every such period, so an upstream that drips bytes
    cannot hold a request forever. Both are checked as bytes arrive; a silent connection ends by the read timeout.

    Only the upstream's origin and ``file_hosts`` are fetched (by default the file host of public PyPI), redirects
    are followed only within one origin, and client-facing errors name no URL or low-level cause (they are logged).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_seconds: float,
        metadata_max_bytes: int,
        artifact_max_bytes: int,
        max_attempts: int,
        initial_backoff_millis: int,
        file_hosts: Sequence[str] | None = None,
        ca_bundle: str | None = None,
        proxy_url: str | None = None,
    ) -> None:
        self.index_url, self._auth = index_url_for(base_url)
        self._locations = UpstreamLocations(
            self.index_url, default_file_hosts(self.index_url) if file_hosts is None else file_hosts
        )
        self._egress = EgressOptions(timeout_seconds=timeout_seconds, ca_bundle=ca_bundle, proxy_url=proxy_url)
        self._metadata_max_bytes = metadata_max_bytes
        self._artifact_max_bytes = artifact_max_bytes
        self._max_attempts = max(1, max_attempts)
        self._initial_backoff = max(0, initial_backoff_millis) / 1000
        self._timeout = timeout_seconds
        self._client_lock = threading.Lock()
        self._http: httpx.Client | None = None
        self._in_flight = 0
        self._closed = threading.Event()

    def close(self) -> None:
        """Refuse new requests and end retry waits at once; pooled connections are released as soon as the
        requests under way have ended (never under a running transfer)."""
        self._closed.set()
        with self._client_lock:
            if self._in_flight == 0:
                self._release()

    def fetch_project(self, normalized_name: str) -> UpstreamProject:
        url = urljoin(self.index_url, quote(normalized_name) + "/")
        with self._open(url, {"Accept": _ACCEPT}) as (response, started):
            body = self._read_capped(response, self._metadata_max_bytes, "project page", started)
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            page_url = str(response.url)
        try:
            if content_type.endswith("json"):
                return parse_project_json(body, page_url, normalized_name)
            return parse_project_html(body.decode("utf-8", "replace"), page_url, normalized_name)
        except ValueError as exc:
            raise UpstreamUnavailable(f"upstream page for {normalized_name!r} is malformed: {exc}") from None

    def fetch_bytes(self, url: str) -> bytes:
        with self._open(url, {}) as (response, started):
            return self._read_capped(response, self._metadata_max_bytes, "metadata file", started)

    @contextmanager
    def open_file(self, url: str) -> Iterator[UpstreamStream]:
        with self._open(url, {}) as (response, _started):
            length = response.headers.get("content-length")
            size = int(length) if length and length.isdigit() else None
            if size is not None and size > self._artifact_max_bytes:
                raise UpstreamUnavailable(
                    f"upstream file is {size} bytes, above mirror_artifact_max_bytes ({self._artifact_max_bytes})"
                )
            yield UpstreamStream(size=size, chunks=self._iter_capped(response, self._artifact_max_bytes))

    # internals

    def _auth_for(self, url: str) -> httpx.BasicAuth | None:
        return self._auth if origin_of(url) == self._locations.origin else None

    @contextmanager
    def _open(self, url: str, headers: dict[str, str]) -> Iterator[tuple[httpx.Response, float]]:
        """A streamed response with a 2xx status, after retries, and when its request was sent (monotonic
        clock); ``NotFound`` on 404/410."""
        with self._lease() as client:
            response, started = self._send(client, url, headers)
            try:
                yield response, started
            finally:
                response.close()

    @contextmanager
    def _lease(self) -> Iterator[httpx.Client]:
        """The pooled client for one request; it is created on first use, so processes that never mirror (most
        CLI commands) pay nothing."""
        with self._client_lock:
            if self._closed.is_set():
                raise UpstreamUnavailable(_CLOSED)
            if self._http is None:
                self._http = build_http_client(self._egress)
            self._in_flight += 1
            client = self._http
        try:
            yield client
        finally:
            with self._client_lock:
                self._in_flight -= 1
                if self._closed.is_set() and self._in_flight == 0:
                    self._release()

    def _release(self) -> None:
        """Close the pooled client (call with the client lock held and no request under way)."""
        if self._http is not None:
            self._http.close()
            self._http = None

    def _pause(self, seconds: float) -> None:
        """Wait before a retry; :meth:`close` ends the wait and the request."""
        if self._closed.wait(seconds):
            raise UpstreamUnavailable(_CLOSED)

    def _send(self, client: httpx.Client, url: str, headers: dict[str, str]) -> tuple[httpx.Response, float]:
        self._locations.check(url)
        delay = self._initial_backoff
        for attempt in range(1, self._max_attempts + 1):
            last = attempt == self._max_attempts
            started = time.monotonic()
            try:
                response = self._follow(client, url, headers)
            except httpx.HTTPError as exc:
                if _untrusted_certificate(exc):
                    _log.warning("mirror.upstream_untrusted", url=redact(url), error=str(exc))
                    raise UpstreamUnavailable(UNTRUSTED_CERTIFICATE) from None
                if last:
                    _log.warning("mirror.upstream_unreachable", url=redact(url), error=str(exc))
                    raise UpstreamUnavailable(UNREACHABLE) from None
                _log.info("mirror.upstream_retry", url=redact(url), attempt=attempt, error=str(exc))
                self._pause(delay)
                delay *= 2
                continue
            status = response.status_code
            if status < 300:
                return response, started
            retry_after = _retry_after(response)
            response.close()
            if status in {404, 410}:
                raise NotFound(f"upstream has no {urlsplit(url).path}")
            if (status in _RETRY_STATUSES or status >= 500) and not last:
                wait = min(max(delay, retry_after or 0.0), _MAX_RETRY_AFTER_SECONDS)
                _log.info("mirror.upstream_retry", url=redact(url), attempt=attempt, status=status, wait=wait)
                self._pause(wait)
                delay *= 2
                continue
            _log.warning("mirror.upstream_refused", url=redact(url), status=status)
            raise UpstreamUnavailable(f"upstream answered {status}")
        raise UpstreamUnavailable(UNREACHABLE)  # pragma: no cover - loop always returns

    def _follow(self, client: httpx.Client, url: str, headers: dict[str, str]) -> httpx.Response:
        """The response to GET ``url`` after redirects within its origin; a redirect elsewhere is refused."""
        target = url
        for _ in range(_MAX_REDIRECTS + 1):
            try:
                request = client.build_request("GET", target, headers=headers)
            except httpx.InvalidURL as exc:
                raise self._locations.refuse(target, str(exc)) from None
            response = client.send(request, stream=True, auth=self._auth_for(target) or httpx.USE_CLIENT_DEFAULT)
            location = response.headers.get("location")
            if not response.is_redirect or location is None:
                return response
            response.close()
            hop = urljoin(target, location)
            if _origin_or_none(hop) != origin_of(target):
                raise self._locations.refuse(hop, f"cross-origin redirect from {redact(target)}")
            target = hop
        _log.warning("mirror.upstream_redirect_loop", url=redact(url))
        raise UpstreamUnavailable(f"upstream redirected more than {_MAX_REDIRECTS} times")

    def _read_capped(self, response: httpx.Response, limit: int, what: str, started: float) -> bytes:
        return b"".join(self._iter_capped(response, limit, what, deadline=started + self._timeout))

    def _iter_capped(
        self, response: httpx.Response, limit: int, what: str = "file", *, deadline: float | None = None
    ) -> Iterator[bytes]:
        """The body in chunks of ``_CHUNK`` bytes, within the byte cap, the ``deadline`` and the progress rule."""
        length = response.headers.get("content-length")
        expected = int(length) if length and length.isdigit() else None
        total = 0
        window_start, window_bytes, needed = time.monotonic(), 0, _progress_needed(expected, 0)
        buffer = bytearray()
        try:
            for piece in response.iter_bytes():
                now = time.monotonic()
                total += len(piece)
                if total > limit:
                    raise UpstreamUnavailable(f"upstream {what} exceeds the {limit}-byte limit")
                if deadline is not None and now > deadline:
                    raise UpstreamUnavailable(f"upstream {what} did not arrive within {self._timeout:g} s")
                window_bytes += len(piece)
                if window_bytes >= needed:
                    window_start, window_bytes, needed = now, 0, _progress_needed(expected, total)
                elif now - window_start > self._timeout:
                    raise UpstreamUnavailable(
                        f"upstream {what} stalled: less than {_PROGRESS_BYTES} bytes in {self._timeout:g} s"
                    )
                buffer += piece
                if len(buffer) >= _CHUNK:
                    yield bytes(buffer)
                    buffer.clear()
        except httpx.HTTPError as exc:
            _log.warning("mirror.upstream_transfer_failed", url=redact(str(response.url)), error=str(exc))
            raise UpstreamUnavailable("upstream transfer failed") from None
        if buffer:
            yield bytes(buffer)


def _progress_needed(expected: int | None, received: int) -> int:
    """Bytes a transfer must receive in each timeout period: 64 KiB, or what remains of an announced length."""
    if expected is None:
        return _PROGRESS_BYTES
    return max(1, min(_PROGRESS_BYTES, expected - received))


def _origin_or_none(url: str) -> tuple[str, str, int] | None:
    try:
        return origin_of(url)
    except ValueError:
        return None
