"""Post/redirect/get back to a project's admin page with a one-time message."""

from __future__ import annotations

from litestar.response import Redirect

from pyregistry_web.admin.rendering import flash
from pyregistry_web.http_types import AnyRequest

__all__ = ["back_to_project"]


def back_to_project(request: AnyRequest, tenant: str, project: str, message: str, anchor: str = "") -> Redirect:
    """Show ``message`` once on the project page, scrolled to ``anchor`` when one is given."""
    flash(request, message)
    fragment = f"#{anchor}" if anchor else ""
    return Redirect(path=f"/admin/t/{tenant}/packages/{project}{fragment}", status_code=303)
