"""Content negotiation for the Simple Repository API (PEP 691)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["SimpleFormat", "choose_simple_format"]

JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
JSON_LATEST = "application/vnd.pypi.simple.latest+json"
HTML_LATEST = "application/vnd.pypi.simple.latest+html"


class SimpleFormat(StrEnum):
    """The serialization chosen for a response; the value is its Content-Type."""

    JSON = JSON_V1
    HTML = HTML_V1
    LEGACY_HTML = "text/html"


_SUPPORTED: dict[str, SimpleFormat] = {
    JSON_V1: SimpleFormat.JSON,
    JSON_LATEST: SimpleFormat.JSON,
    HTML_V1: SimpleFormat.HTML,
    HTML_LATEST: SimpleFormat.HTML,
    "text/html": SimpleFormat.LEGACY_HTML,
    "text/*": SimpleFormat.LEGACY_HTML,
    "*/*": SimpleFormat.LEGACY_HTML,
    "application/*": SimpleFormat.JSON,
}


def _quality(params: list[str]) -> float:
    for param in params:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


def choose_simple_format(accept: str | None) -> SimpleFormat | None:
    """Pick the best supported format for an ``Accept`` header; ``None`` means 406.

    No header (or an empty one) gets HTML, as every client understands it.
    """
    if accept is None or not accept.strip():
        return SimpleFormat.LEGACY_HTML
    best: tuple[float, int, SimpleFormat] | None = None
    for position, item in enumerate(accept.split(",")):
        media, *params = item.split(";")
        media = media.strip().lower()
        chosen = _SUPPORTED.get(media)
        if chosen is None:
            continue
        quality = _quality(params)
        if quality <= 0:
            continue
        candidate = (quality, -position, chosen)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return best[2] if best is not None else None
