"""The severity of an OSV advisory: its database's own rating, else the CVSS v3 base score of its vector."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["UNRATED", "advisory_severity", "cvss3_base_score"]

UNRATED = "critical"
"""The severity an advisory without any rating counts as (most PYSEC records): unknown is not taken as harmless."""

_NAMES = {"low": "low", "moderate": "medium", "medium": "medium", "high": "high", "critical": "critical"}
_AV = {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}
_AC = {"L": 0.77, "H": 0.44}
_UI = {"N": 0.85, "R": 0.62}
_CIA = {"H": 0.56, "L": 0.22, "N": 0.0}


def _round_up(value: float) -> float:
    """CVSS v3.1's Roundup: the smallest one-decimal number at or above ``value``."""
    scaled = round(value * 100000)
    if scaled % 10000 == 0:
        return scaled / 100000.0
    return (math.floor(scaled / 10000) + 1) / 10.0


def cvss3_base_score(vector: str) -> float | None:
    """The CVSS v3.0/v3.1 base score of ``vector`` (``CVSS:3.1/AV:N/AC:L/...``), ``None`` when it is not one."""
    parts = vector.strip().split("/")
    if not parts or not parts[0].startswith("CVSS:3"):
        return None
    metrics = dict(part.split(":", 1) for part in parts[1:] if ":" in part)
    try:
        changed = metrics["S"] == "C"
        privileges = {"N": 0.85, "L": 0.68 if changed else 0.62, "H": 0.5 if changed else 0.27}[metrics["PR"]]
        exploitability = 8.22 * _AV[metrics["AV"]] * _AC[metrics["AC"]] * privileges * _UI[metrics["UI"]]
        iss = 1 - (1 - _CIA[metrics["C"]]) * (1 - _CIA[metrics["I"]]) * (1 - _CIA[metrics["A"]])
    except KeyError:
        return None
    impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if changed else 6.42 * iss
    if impact <= 0:
        return 0.0
    total = 1.08 * (impact + exploitability) if changed else impact + exploitability
    return _round_up(min(total, 10.0))


def _from_score(score: float) -> str:
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low" if score > 0 else "info"


def _named(value: Any) -> str | None:
    return _NAMES.get(value.strip().lower()) if isinstance(value, str) else None


def advisory_severity(record: dict[str, Any]) -> str:
    """``info`` to ``critical`` for one OSV record: ``database_specific.severity`` (GitHub's LOW/MODERATE/HIGH/
    CRITICAL) or an ``affected`` entry's, else the highest CVSS v3 base score, else :data:`UNRATED`."""
    database = record.get("database_specific")
    found = _named(database.get("severity")) if isinstance(database, dict) else None
    for affected in record.get("affected") or []:
        for key in ("database_specific", "ecosystem_specific"):
            specific = affected.get(key) if isinstance(affected, dict) else None
            found = found or (_named(specific.get("severity")) if isinstance(specific, dict) else None)
    if found is not None:
        return found
    scores = [
        score
        for entry in record.get("severity") or []
        if isinstance(entry, dict)
        and isinstance(entry.get("score"), str)
        and (score := cvss3_base_score(entry["score"])) is not None
    ]
    return _from_score(max(scores)) if scores else UNRATED
