"""``/favicon.ico`` for clients that ask for it without reading a page's ``<link rel="icon">``."""

from __future__ import annotations

from litestar import get
from litestar.response import Redirect

__all__ = ["FAVICON_PATH", "favicon"]

FAVICON_PATH = "/static/favicon.svg"


@get("/favicon.ico", name="favicon", include_in_schema=False, sync_to_thread=False)
def favicon() -> Redirect:
    """The registry's icon (an SVG under ``/static``)."""
    return Redirect(path=FAVICON_PATH, status_code=301)
