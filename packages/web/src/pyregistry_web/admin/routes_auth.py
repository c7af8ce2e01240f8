"""Login and logout."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from litestar import Response, get, post
from litestar.datastructures import State
from litestar.params import QueryParameter
from litestar.response import Redirect

from pyregistry_application.oidc_sign_in import OidcSignIn
from pyregistry_domain.users import User
from pyregistry_web.admin.csrf import check_csrf, new_csrf_token, session_data
from pyregistry_web.admin.route_access import Access, needs
from pyregistry_web.admin.safe_targets import DEFAULT_TARGET, safe_next
from pyregistry_web.admin.session_user import Form, LoginRequired, admin_services, current_user, renderer
from pyregistry_web.credentials import client_ip
from pyregistry_web.http_types import AnyRequest

_log = structlog.get_logger(__name__)

__all__ = ["admin_root", "login_page", "login_submit", "logout"]

_LOCAL_OFF = "Local passwords are turned off: sign in with your identity provider."


def _login_context(state: State, next_path: str, error: str | None, email: str = "") -> dict[str, Any]:
    sign_in = state.get("oidc_sign_in")
    return {
        "next": next_path,
        "error": error,
        "email": email,
        "providers": sign_in.providers() if isinstance(sign_in, OidcSignIn) else [],
        "local_passwords": state.web_options.local_passwords,
    }


@get("/", name="admin-root", opt=needs(Access.PUBLIC))
async def admin_root() -> Redirect:
    """``/admin/`` goes to the dashboard (or, without a session, to the login page)."""
    return Redirect(path=DEFAULT_TARGET, status_code=303)


@get("/login", name="admin-login", opt=needs(Access.PUBLIC), sync_to_thread=False)
def login_page(
    request: AnyRequest, state: State, next_path: Annotated[str | None, QueryParameter(name="next")] = None
) -> Response[Any]:
    """The login form."""
    return renderer(state).page(request, "admin/login.html.j2", _login_context(state, safe_next(next_path), None))


@post("/login", name="admin-login-submit", opt=needs(Access.PUBLIC), sync_to_thread=True)
def login_submit(request: AnyRequest, state: State, data: Form) -> Response[Any]:
    """Check the credentials; failures re-render the form (401), throttled attempts get 429 + Retry-After."""
    target = safe_next(str(data.get("next") or ""))
    if not state.web_options.local_passwords:
        context = _login_context(state, target, _LOCAL_OFF)
        return renderer(state).page(request, "admin/login.html.j2", context, status_code=403)
    check_csrf(request, data)
    accounts = admin_services(state).accounts
    outcome = accounts.login(str(data.get("email") or ""), str(data.get("password") or ""), client_ip(request))
    if outcome.throttle_unavailable:
        _log.error(
            "admin.login.throttle_unavailable",
            reason=outcome.throttle_unavailable,
            behaviour="login refused (fail closed)" if outcome.user is None else "login allowed, counts kept",
        )
    if outcome.user is None:
        if outcome.throttle_unavailable:
            error = "Login temporarily unavailable. Try again shortly."
            status, headers = 503, {"Retry-After": "30"}
        elif outcome.retry_after:
            error = f"Too many failed logins. Try again in {outcome.retry_after} seconds."
            status, headers = 429, {"Retry-After": str(outcome.retry_after)}
        else:
            error, status, headers = "Wrong email or password.", 401, None
        context = _login_context(state, target, error, str(data.get("email") or ""))
        return renderer(state).page(request, "admin/login.html.j2", context, status_code=status, headers=headers)
    request.set_session({**accounts.open_session(outcome.user), "csrf": new_csrf_token()})
    return Redirect(path=target, status_code=303)


@post("/logout", name="admin-logout", opt=needs(Access.PUBLIC), sync_to_thread=True)
def logout(request: AnyRequest, state: State, data: Form) -> Redirect:
    """End the session here and, through the session store, in every other server process."""
    check_csrf(request, data)
    user: User | None
    try:
        user = current_user(request, state)
    except LoginRequired:
        user = None
    if user is not None:
        admin_services(state).accounts.logout(user, session_data(request), client_ip(request))
    request.clear_session()
    return Redirect(path="/admin/login", status_code=303)
