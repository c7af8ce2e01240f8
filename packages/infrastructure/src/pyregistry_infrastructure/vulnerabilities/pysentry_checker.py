"""Checking stored versions with pysentry (``pysentry.run_cli``), online or against a local OSV endpoint."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pysentry

from pyregistry_application.security.vulnerability_model import PackageVersion, PackageVulnerability
from pyregistry_domain.errors import UpstreamUnavailable
from pyregistry_domain.names import normalize_project_name

__all__ = ["PysentryChecker"]

_stdout_lock = threading.Lock()

_PYSENTRY_CONFIG = "[notifications]\nenabled = false\n"


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """pysentry prints banners on file descriptor 1; keep our own stdout (JSON reports) clean."""
    with _stdout_lock:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            os.dup2(2, 1)
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


class PysentryChecker:
    """Implements ``VulnerabilityChecker``: one pysentry run over a ``requirements.txt`` of pinned versions.

    ``service_url`` points pysentry's ``osv`` source at an OSV-compatible API (pyregistry's own for offline use);
    without it pysentry uses the public PyPA and OSV sources.
    """

    name = "pysentry"

    def __init__(self, service_url: str | None = None, cache_dir: Path | None = None) -> None:
        self._service_url = service_url
        self._cache_dir = cache_dir

    def check(self, packages: list[PackageVersion]) -> list[PackageVulnerability]:
        """Run pysentry once per distinct version set; map its JSON back to tenants."""
        owners: dict[tuple[str, str], list[PackageVersion]] = {}
        for package in packages:
            owners.setdefault((normalize_project_name(package.project), package.version), []).append(package)
        if not owners:
            return []
        report = self._run(sorted(owners))
        found: list[PackageVulnerability] = []
        for item in report.get("vulnerabilities", []):
            key = (normalize_project_name(str(item.get("package_name", ""))), str(item.get("installed_version", "")))
            for package in owners.get(key, []):
                found.append(
                    PackageVulnerability(
                        tenant_slug=package.tenant_slug,
                        project=package.project,
                        version=package.version,
                        advisory_id=str(item.get("id", "")),
                        aliases=[str(a) for a in item.get("aliases") or []],
                        fixed_versions=[str(v) for v in item.get("fixed_versions") or []],
                        summary=str(item.get("summary") or item.get("description") or "")[:300],
                        severity=str(item.get("severity") or ""),
                    )
                )
        return found

    def _run(self, pins: list[tuple[str, str]]) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="pyregistry-pysentry-") as tmp:
            project = Path(tmp) / "project"
            project.mkdir()
            (project / "requirements.txt").write_text("".join(f"{n}=={v}\n" for n, v in pins), encoding="utf-8")
            config = Path(tmp) / "pysentry.toml"
            config.write_text(_PYSENTRY_CONFIG, encoding="utf-8")
            output = Path(tmp) / "report.json"
            argv = ["pysentry-rs", str(project), "--no-resolver", "--no-maintenance-check", "--format", "json"]
            argv += ["--output", str(output), "--cache-dir", str(self._cache_dir or Path(tmp) / "cache")]
            argv += ["--config", str(config)]
            if self._service_url:
                argv += ["--sources", "osv", "--service-url", self._service_url]
            try:
                with _stdout_to_stderr():
                    code = pysentry.run_cli(argv)
            except Exception as exc:
                raise UpstreamUnavailable(f"pysentry failed: {exc}") from None
            if not output.is_file():
                raise UpstreamUnavailable(f"pysentry exited with {code} without a report (are its sources reachable?)")
            report: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
            return report
