"""The logged-in admin behind a request, and the redirect to the login page when there is none."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Response
from litestar.datastructures import State
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect

from pyregistry_application.admin_services import AdminServices
from pyregistry_domain.users import User
from pyregistry_web.admin.csrf import session_data
from pyregistry_web.admin.rendering import PageRenderer
from pyregistry_web.http_types import AnyConnection, AnyRequest

__all__ = ["Form", "LoginRequired", "admin_services", "current_user", "redirect_to_login", "renderer"]

_USER_KEY = "admin_user"

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


class LoginRequired(Exception):
    """No valid admin session: the router answers with a redirect to the login page."""


def admin_services(state: State) -> AdminServices:
    """The admin use cases stored in the app state by ``create_app``."""
    return state.admin  # type: ignore[no-any-return]


def renderer(state: State) -> PageRenderer:
    """The page renderer stored in the app state."""
    return state.admin_pages  # type: ignore[no-any-return]


def current_user(request: AnyConnection, state: State) -> User:
    """Dependency: the session's user (looked up once per request), or :class:`LoginRequired`."""
    found = request.state.get(_USER_KEY)
    if isinstance(found, User):
        return found
    user = admin_services(state).accounts.session_user(session_data(request))
    if user is None:
        raise LoginRequired
    request.state[_USER_KEY] = user
    return user


def redirect_to_login(request: AnyRequest, _: Exception) -> Response[Any]:
    """Exception handler: GET pages come back after login; other methods go to the dashboard."""
    target = request.url.path if request.method == "GET" else "/admin/dashboard"
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    return Redirect(path=f"/admin/login?next={quote(target, safe='')}", status_code=303)
