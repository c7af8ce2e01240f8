"""Signing in with an OpenID Connect provider: the redirect to it and its callback."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import get
from litestar.datastructures import State
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect

from pyregistry_application.oidc_sign_in import OidcSignIn, PendingSignIn, SignInRefused
from pyregistry_web.admin.csrf import new_csrf_token, session_data
from pyregistry_web.admin.route_access import Access, needs
from pyregistry_web.admin.safe_targets import safe_next
from pyregistry_web.admin.session_user import admin_services
from pyregistry_web.credentials import client_ip
from pyregistry_web.http_types import AnyRequest

__all__ = ["oidc_callback", "oidc_start", "sign_in_of"]

_PENDING_KEY = "oidc"
_MAX_PARAM = 4096


def sign_in_of(state: State) -> OidcSignIn:
    """The configured sign-in use case, or a refusal when no provider is configured."""
    sign_in = state.get("oidc_sign_in")
    if not isinstance(sign_in, OidcSignIn):
        raise SignInRefused("sign-in with an identity provider is not configured")
    return sign_in


def _callback_url(request: AnyRequest, provider: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/admin/oidc/{provider}/callback"


@get("/oidc/{provider:str}/start", name="admin-oidc-start", opt=needs(Access.PUBLIC), sync_to_thread=True)
def oidc_start(
    request: AnyRequest,
    state: State,
    provider: FromPath[str],
    next_path: Annotated[str | None, QueryParameter(name="next")] = None,
) -> Redirect:
    """Remember state, nonce and PKCE verifier in the session and send the browser to the provider."""
    url, pending = sign_in_of(state).begin(provider, _callback_url(request, provider), safe_next(next_path))
    session = session_data(request)
    session[_PENDING_KEY] = msgspec.to_builtins(pending)
    request.set_session(session)
    return Redirect(path=url, status_code=303)


@get("/oidc/{provider:str}/callback", name="admin-oidc-callback", opt=needs(Access.PUBLIC), sync_to_thread=True)
def oidc_callback(
    request: AnyRequest,
    state: State,
    provider: FromPath[str],
    code: str = "",
    error: str = "",
    state_param: Annotated[str, QueryParameter(name="state")] = "",
) -> Redirect:
    """Check the answer and the ID token, then start an admin session; refusals are 403 pages with the reason.
    The pending sign-in is used up either way, so a replayed callback is refused."""
    session = session_data(request)
    stored = session.pop(_PENDING_KEY, None)
    request.set_session(session)
    try:
        pending = msgspec.convert(stored, PendingSignIn) if stored is not None else None
    except msgspec.ValidationError:
        pending = None
    user = sign_in_of(state).complete(
        provider,
        pending,
        state=state_param[:_MAX_PARAM],
        code=code[:_MAX_PARAM],
        error=error[:_MAX_PARAM],
        redirect_uri=_callback_url(request, provider),
        source_ip=client_ip(request),
    )
    request.set_session({**admin_services(state).accounts.open_session(user), "csrf": new_csrf_token()})
    return Redirect(path=pending.next if pending else "/admin/dashboard", status_code=303)
