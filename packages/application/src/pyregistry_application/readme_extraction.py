"""Reading a project's long description (README) from stored core metadata."""

from __future__ import annotations

import email.parser
import email.policy

import msgspec

__all__ = ["MAX_README_CHARS", "Readme", "readme_from_metadata"]

MAX_README_CHARS = 200_000


class Readme(msgspec.Struct, frozen=True):
    """The raw README text and its declared ``Description-Content-Type`` with parameters ("" when none); callers
    must render or escape it before showing it."""

    text: str
    content_type: str
    truncated: bool = False


def readme_from_metadata(raw: bytes) -> Readme | None:
    """The ``Description`` (header or body) of a METADATA/PKG-INFO file, or ``None`` when it has none."""
    message = email.parser.Parser(policy=email.policy.compat32).parsestr(raw.decode("utf-8", errors="replace"))
    body = message.get_payload()
    text = body if isinstance(body, str) and body.strip() else ""
    if not text:
        header = message.get("Description")
        text = _unfold_description(str(header)) if header else ""
    if not text.strip():
        return None
    content_type = " ".join(str(message.get("Description-Content-Type") or "").split())
    truncated = len(text) > MAX_README_CHARS
    return Readme(text=text[:MAX_README_CHARS].strip("\n"), content_type=content_type, truncated=truncated)


def _unfold_description(value: str) -> str:
    """Undo the ``<spaces>|`` continuation style setuptools used for multi-line Description headers."""
    lines = [line.lstrip() for line in value.splitlines()]
    return "\n".join(line[1:] if line.startswith("|") else line for line in lines)
