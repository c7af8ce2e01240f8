"""Remembers, per API request, whether its token was verified and allowed on the tenant.

The rate limiter charges only requests without that: a 404 answered to a valid token (a private index asked for a
public dependency) is a normal answer, not abuse.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

from pyregistry_domain.tokens import ApiToken

__all__ = ["AuthorizationMark", "RequestAuthorizationRecorder", "release_tracking", "track_authorization"]


class AuthorizationMark:
    """Set once the current request's token has been authorized."""

    __slots__ = ("authorized",)

    def __init__(self) -> None:
        self.authorized = False


_current: ContextVar[AuthorizationMark | None] = ContextVar("pyregistry_authorization_mark", default=None)


def track_authorization() -> tuple[AuthorizationMark, Token[AuthorizationMark | None]]:
    """Start tracking the current request; pass the returned token to ``release_tracking`` when it ends."""
    mark = AuthorizationMark()
    return mark, _current.set(mark)


def release_tracking(token: Token[AuthorizationMark | None]) -> None:
    """Stop tracking the request started with ``token``."""
    _current.reset(token)


class RequestAuthorizationRecorder:
    """An ``AuthorizationListener`` that marks the request being served (handlers in worker threads share the
    mark through the copied context); outside a request it does nothing."""

    def token_authorized(self, token: ApiToken) -> None:
        """Mark the current request as authorized."""
        del token
        mark = _current.get()
        if mark is not None:
            mark.authorized = True
