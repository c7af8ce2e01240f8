"""A local OSV advisory database (pypa/advisory-database layout, YAML or JSON) with version matching."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import structlog
import yaml
from packaging.version import InvalidVersion, Version

from pyregistry_application.security.ports import VulnerabilitySource
from pyregistry_application.security.vulnerability_model import Advisory, PackageVersion, PackageVulnerability
from pyregistry_domain.names import normalize_project_name

__all__ = ["AdvisoryDatabase", "LocalAdvisoryChecker", "advisory_from_record", "affects"]

_log = structlog.get_logger(__name__)
_SUFFIXES = {".yaml", ".yml", ".json"}
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _pypi_entries(record: dict[str, Any], normalized: str | None = None) -> list[dict[str, Any]]:
    entries = []
    for entry in record.get("affected") or []:
        package = entry.get("package") or {}
        if str(package.get("ecosystem", "")).lower() != "pypi":
            continue
        if normalized is None or normalize_project_name(str(package.get("name", ""))) == normalized:
            entries.append(entry)
    return entries


def _in_ranges(entry: dict[str, Any], version: Version) -> bool:
    for affected_range in entry.get("ranges") or []:
        if affected_range.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue
        inside = False
        events = affected_range.get("events") or []
        for event in events:
            if "introduced" in event:
                start = str(event["introduced"])
                bound = _version(start)
                if start == "0" or (bound is not None and version >= bound):
                    inside = True
            elif "fixed" in event:
                bound = _version(str(event["fixed"]))
                if bound is not None and version >= bound:
                    inside = False
            elif "last_affected" in event:
                bound = _version(str(event["last_affected"]))
                if bound is not None and version > bound:
                    inside = False
        if inside:
            return True
    return False


def affects(record: dict[str, Any], name: str, version: str) -> bool:
    """True when the OSV ``record`` lists ``name`` at ``version`` (explicit versions or ECOSYSTEM ranges)."""
    normalized = normalize_project_name(name)
    parsed = _version(version)
    for entry in _pypi_entries(record, normalized):
        listed = [str(v) for v in entry.get("versions") or []]
        if version in listed or (parsed is not None and any(_version(v) == parsed for v in listed)):
            return True
        if parsed is not None and _in_ranges(entry, parsed):
            return True
    return False


def _fixed_versions(record: dict[str, Any]) -> list[str]:
    fixed: set[str] = set()
    for entry in _pypi_entries(record):
        for affected_range in entry.get("ranges") or []:
            if affected_range.get("type") not in ("ECOSYSTEM", "SEMVER"):
                continue
            fixed.update(str(e["fixed"]) for e in affected_range.get("events") or [] if "fixed" in e)
    return sorted(fixed, key=lambda v: (_version(v) is None, _version(v) or Version("0"), v))


def _describe_range(events: list[dict[str, Any]]) -> list[str]:
    """``introduced``/``fixed``/``last_affected`` events as readable intervals, e.g. ``>= 1.5, < 1.5.3``."""
    intervals: list[str] = []
    start: str | None = None
    for event in events:
        if "introduced" in event:
            start = str(event["introduced"])
        elif "fixed" in event or "last_affected" in event:
            upper = f"< {event['fixed']}" if "fixed" in event else f"<= {event['last_affected']}"
            intervals.append(f">= {start or '0'}, {upper}")
            start = None
    if start is not None:
        intervals.append(f">= {start}")
    return intervals


def _affected_text(record: dict[str, Any]) -> list[str]:
    """Readable affected ranges and explicit versions of the record's PyPI entries."""
    entries = _pypi_entries(record)
    names = {normalize_project_name(str((entry.get("package") or {}).get("name", ""))) for entry in entries}
    described: list[str] = []
    for entry in entries:
        prefix = f"{(entry.get('package') or {}).get('name', '')}: " if len(names) > 1 else ""
        for affected_range in entry.get("ranges") or []:
            if affected_range.get("type") in ("ECOSYSTEM", "SEMVER"):
                described += [prefix + text for text in _describe_range(affected_range.get("events") or [])]
        versions = [str(v) for v in entry.get("versions") or []]
        if versions:
            described.append(prefix + ", ".join(versions))
    return described


def _affects_every_version(record: dict[str, Any]) -> bool:
    """A PyPI range introduced at ``0`` with no ``fixed`` or ``last_affected`` event (OpenSSF malware records)."""
    for entry in _pypi_entries(record):
        for affected_range in entry.get("ranges") or []:
            events = affected_range.get("events") or []
            opens_at_zero = any(str(event.get("introduced")) == "0" for event in events)
            closes = any("fixed" in event or "last_affected" in event for event in events)
            if affected_range.get("type") in ("ECOSYSTEM", "SEMVER") and opens_at_zero and not closes:
                return True
    return False


def advisory_from_record(record: dict[str, Any]) -> Advisory:
    """The application's view of one OSV document."""
    summary = str(record.get("summary") or "").strip()
    if not summary:
        summary = str(record.get("details") or "").strip().split("\n", 1)[0][:200]
    return Advisory(
        id=str(record["id"]),
        summary=summary,
        aliases=[str(a) for a in record.get("aliases") or []],
        modified=str(record.get("modified") or ""),
        fixed_versions=_fixed_versions(record),
        record=record,
        affected=_affected_text(record),
        every_version=_affects_every_version(record),
    )


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


class AdvisoryDatabase:
    """Implements ``VulnerabilitySource`` over a directory of OSV files, loaded once (lazily) and indexed by name."""

    def __init__(self, root: Path | None) -> None:
        self._root = root
        self._lock = threading.Lock()
        self._by_package: dict[str, list[Advisory]] | None = None
        self._by_id: dict[str, Advisory] = {}
        self.errors: list[str] = []

    @property
    def configured(self) -> bool:
        """True when a database directory was configured."""
        return self._root is not None

    def _load(self) -> dict[str, list[Advisory]]:
        with self._lock:
            if self._by_package is not None:
                return self._by_package
            by_package: dict[str, list[Advisory]] = {}
            if self._root is not None:
                if not self._root.is_dir():
                    self.errors.append(f"{self._root} is not a directory")
                    _log.warning("advisory database directory missing", path=str(self._root))
                for path in sorted(self._root.rglob("*")) if self._root.is_dir() else []:
                    if path.suffix.lower() in _SUFFIXES and path.is_file():
                        self._add_file(path, by_package)
            self._by_package = by_package
            _log.info("advisory database loaded", path=str(self._root), advisories=len(self._by_id))
            return by_package

    def _add_file(self, path: Path, by_package: dict[str, list[Advisory]]) -> None:
        try:
            text = path.read_text(encoding="utf-8")
            record = json.loads(text) if path.suffix.lower() == ".json" else yaml.load(text, Loader=_YamlLoader)  # noqa: S506 (a safe loader)
            if not isinstance(record, dict) or "id" not in record:
                raise ValueError("not an OSV document (no id)")
            advisory = advisory_from_record(_json_safe(record))
        except (OSError, ValueError, yaml.YAMLError) as exc:
            self.errors.append(f"{path}: {exc}")
            return
        self._by_id[advisory.id] = advisory
        for alias in advisory.aliases:
            self._by_id.setdefault(alias, advisory)
        names = {normalize_project_name(str(e["package"]["name"])) for e in _pypi_entries(advisory.record)}
        for name in names:
            by_package.setdefault(name, []).append(advisory)

    def count(self) -> int:
        """How many advisories are loaded."""
        return len({a.id for items in self._load().values() for a in items})

    def advisories_for(self, name: str) -> list[Advisory]:
        """Every advisory mentioning ``name``."""
        return list(self._load().get(normalize_project_name(name), []))

    def query(self, name: str, version: str) -> list[Advisory]:
        """Advisories that affect ``name`` at ``version``."""
        return [a for a in self.advisories_for(name) if affects(a.record, name, version)]

    def get(self, advisory_id: str) -> Advisory | None:
        """One advisory by id or alias."""
        self._load()
        return self._by_id.get(advisory_id)


class LocalAdvisoryChecker:
    """Implements ``VulnerabilityChecker`` directly over the local database (no subprocess)."""

    name = "local-advisory-db"

    def __init__(self, database: VulnerabilitySource) -> None:
        self._database = database

    def check(self, packages: list[PackageVersion]) -> list[PackageVulnerability]:
        """Match every package version against the database."""
        return [
            PackageVulnerability(
                tenant_slug=package.tenant_slug,
                project=package.project,
                version=package.version,
                advisory_id=advisory.id,
                aliases=advisory.aliases,
                fixed_versions=advisory.fixed_versions,
                summary=advisory.summary,
            )
            for package in packages
            for advisory in self._database.query(package.project, package.version)
        ]
