"""Login and logout."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Response, get, post
from litestar.datastructures import State
from litestar.params import QueryParameter
from litestar.response import Redirect

from pyregistry_domain.users import User
from pyregistry_web.admin.route_access import Access, needs
from pyregistry_web.admin.security import check_csrf, new_csrf_token, session_data
from pyregistry_web.admin.session_user import Form, LoginRequired, admin_services, current_user, renderer
from pyregistry_web.credentials import client_ip
from pyregistry_web.http_types import AnyRequest

__all__ = ["admin_root", "login_page", "login_submit", "logout"]

_DEFAULT_TARGET = "/admin/dashboard"


def _safe_next(target: str | None) -> str:
    """Only same-site admin paths: never another host (``//``) nor a scheme."""
    if not target or not target.startswith("/admin/") or target.startswith("//") or "\\" in target:
        return _DEFAULT_TARGET
    return target


@get("/", name="admin-root", opt=needs(Access.PUBLIC))
async def admin_root() -> Redirect:
    """``/admin/`` goes to the dashboard (or, without a session, to the login page)."""
    return Redirect(path=_DEFAULT_TARGET, status_code=303)


@get("/login", name="admin-login", opt=needs(Access.PUBLIC), sync_to_thread=False)
def login_page(
    request: AnyRequest, state: State, next_path: Annotated[str | None, QueryParameter(name="next")] = None
) -> Response[Any]:
    """The login form."""
    return renderer(state).page(request, "admin/login.html.j2", {"next": _safe_next(next_path), "error": None})


@post("/login", name="admin-login-submit", opt=needs(Access.PUBLIC), sync_to_thread=True)
def login_submit(request: AnyRequest, state: State, data: Form) -> Response[Any]:
    """Check the credentials; failures re-render the form (401), throttled attempts get 429 + Retry-After."""
    check_csrf(request, data)
    target = _safe_next(str(data.get("next") or ""))
    accounts = admin_services(state).accounts
    outcome = accounts.login(str(data.get("email") or ""), str(data.get("password") or ""), client_ip(request))
    if outcome.user is None:
        if outcome.retry_after:
            error = f"Too many failed logins. Try again in {outcome.retry_after} seconds."
            status, headers = 429, {"Retry-After": str(outcome.retry_after)}
        else:
            error, status, headers = "Wrong email or password.", 401, None
        context = {"next": target, "error": error, "email": str(data.get("email") or "")}
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
