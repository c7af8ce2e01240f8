"""The URLs clients use for a tenant, as seen from the request that rendered the page."""

from __future__ import annotations

from pyregistry_web.http_types import AnyRequest

__all__ = ["tenant_index_url"]


def tenant_index_url(request: AnyRequest, tenant_slug: str, *, credentials: str | None = None) -> str:
    """The tenant's simple index under the request's base URL (with ``user:password@`` when given)."""
    base = request.base_url
    userinfo = f"{credentials}@" if credentials else ""
    return f"{base.scheme}://{userinfo}{base.netloc}{base.path.rstrip('/')}/t/{tenant_slug}/simple/"
