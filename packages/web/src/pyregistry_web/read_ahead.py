"""What the hot-read lane already worked out for a request it hands on to the router: the route handler answers
with it instead of reading the database again (and counting the download twice)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from litestar import Response
from litestar.types import Scope

from pyregistry_web.answers import Answer
from pyregistry_web.http_types import AnyRequest

__all__ = ["answered", "hand_over", "read_ahead"]

_KEY = "pyregistry.read_ahead"


def hand_over(scope: Scope, outcome: Response[Any] | Exception) -> None:
    """Leave the response (or the refusal) worked out for this request to its route handler."""
    cast("dict[str, Any]", scope)[_KEY] = outcome


def read_ahead(request: AnyRequest) -> Response[Any] | None:
    """The response handed over for this request (``None``: nothing was); a handed-over refusal is raised, so
    the app's error handlers answer it."""
    outcome = cast("dict[str, Any]", request.scope).pop(_KEY, None)
    if isinstance(outcome, Exception):
        raise outcome
    return cast("Response[Any] | None", outcome)


async def answered(request: AnyRequest, answering: Callable[[], Awaitable[Answer | Response[Any]]]) -> Response[Any]:
    """A route handler's response: what was handed over for ``request``, else ``answering()`` as a Litestar
    response."""
    ahead = read_ahead(request)
    if ahead is not None:
        return ahead
    outcome = await answering()
    return outcome.response() if isinstance(outcome, Answer) else outcome
