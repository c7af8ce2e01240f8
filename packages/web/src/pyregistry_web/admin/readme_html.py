"""Project READMEs rendered as PyPI renders them: Markdown, reStructuredText or plain text, sanitized."""

from __future__ import annotations

import functools
from email.message import Message
from typing import Any, Protocol

from markupsafe import Markup
from readme_renderer import markdown, rst, txt

from pyregistry_application.readme_extraction import Readme

__all__ = ["render_readme"]


class _Renderer(Protocol):
    def __call__(self, raw: str, **kwargs: Any) -> str | None: ...


_RENDERERS: dict[str, _Renderer] = {
    "": rst.render,
    "text/x-rst": rst.render,
    "text/markdown": markdown.render,
    "text/plain": txt.render,
}
_KNOWN_PARAMETERS = {"variant"}


def _parse_content_type(value: str) -> tuple[str, dict[str, str]]:
    """``text/markdown; variant=GFM`` -> ``("text/markdown", {"variant": "GFM"})``."""
    header = Message()
    header["content-type"] = value or "text/x-rst"
    main = header.get_content_type() if value else ""
    parameters = {
        key.lower(): str(found)
        for key, found in header.get_params(failobj=[], header="content-type")[1:]
        if key.lower() in _KNOWN_PARAMETERS
    }
    return main, parameters


@functools.lru_cache(maxsize=64)
def _render(text: str, content_type: str) -> str:
    kind, parameters = _parse_content_type(content_type)
    rendered = _RENDERERS.get(kind, txt.render)(text, **parameters)
    return rendered if rendered is not None else txt.render(text) or ""


def render_readme(readme: Readme) -> Markup:
    """Sanitized HTML for the README (nh3 via readme_renderer); no type means reST, as on PyPI, and text that does
    not render (invalid reST, an unknown Markdown variant) falls back to plain text."""
    return Markup(_render(readme.text, readme.content_type))  # noqa: S704 - readme_renderer cleans with nh3
