"""The local OSV advisory database, its matcher, and pysentry pointed at the loopback OSV API."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from pyregistry_application.security.vulnerability_model import PackageVersion
from pyregistry_bootstrap.osv_server import serve_osv
from pyregistry_bootstrap.security_wiring import build_security
from pyregistry_bootstrap.wiring import build_runtime
from pyregistry_infrastructure.settings import SecuritySettings, Settings
from pyregistry_infrastructure.vulnerabilities.osv_db import AdvisoryDatabase, LocalAdvisoryChecker
from pyregistry_infrastructure.vulnerabilities.pysentry_checker import PysentryChecker
from tests.conftest import SHARED_DIR
from tests.support.advisories import write_small_advisory_db
from tests.support.settings import runtime_settings


@pytest.fixture
def small_db(tmp_path: Path) -> Path:
    return write_small_advisory_db(tmp_path / "advisory-db")


def test_small_database_matches_ranges_and_explicit_versions(small_db: Path) -> None:
    database = AdvisoryDatabase(small_db)
    assert [a.id for a in database.query("vulnpkg", "1.0.0")] == ["PYSEC-2099-1"]
    assert [a.id for a in database.query("VulnPkg", "1.1.9")] == ["PYSEC-2099-1"]
    assert database.query("vulnpkg", "1.2.0") == []
    assert [a.id for a in database.query("vulnpkg", "1.5.1")] == ["PYSEC-2099-2"]
    assert database.query("vulnpkg", "1.5.3") == []
    assert database.query("unknown-project", "1.0") == []
    first = database.get("CVE-2099-0001")
    assert first is not None and first.id == "PYSEC-2099-1"
    assert first.fixed_versions == ["1.2.0"], "GIT range commits are not versions"
    assert database.get("NPM-2099-3") is not None
    assert database.count() == 2
    assert any("broken.yaml" in error for error in database.errors)


def test_local_checker_reports_fixed_versions(small_db: Path) -> None:
    found = LocalAdvisoryChecker(AdvisoryDatabase(small_db)).check(
        [PackageVersion("acme", "vulnpkg", "1.0.0"), PackageVersion("acme", "vulnpkg", "2.0.0")]
    )
    assert [(v.version, v.advisory_id, v.fixed_versions) for v in found] == [("1.0.0", "PYSEC-2099-1", ["1.2.0"])]


@pytest.mark.slow
@pytest.mark.skipif(
    SHARED_DIR is None or not (SHARED_DIR / "advisory-db" / "vulns").is_dir(),
    reason="the PyPA advisory database is not available (shared/advisory-db absent)",
)
def test_shared_advisory_db_finds_known_vulnerable_requests() -> None:
    assert SHARED_DIR is not None
    database = AdvisoryDatabase(SHARED_DIR / "advisory-db")
    ids = {a.id for a in database.query("requests", "2.19.0")}
    assert "PYSEC-2023-74" in ids
    leak = database.get("CVE-2023-32681")
    assert leak is not None and "2.31.0" in leak.fixed_versions
    assert "PYSEC-2023-74" not in {a.id for a in database.query("requests", "2.31.0")}
    assert database.count() > 2000


def _settings(tmp_path: Path, advisory_db: Path) -> Settings:
    return runtime_settings(
        tmp_path, database_store="memory", security=SecuritySettings(advisory_db_path=str(advisory_db))
    )


def test_loopback_osv_api_serves_pysentry(small_db: Path, tmp_path: Path) -> None:
    settings = _settings(tmp_path, small_db)
    built = build_runtime(settings)
    security = build_security(settings, built.services, built.upstream)
    with serve_osv(security) as url:
        batch = httpx.post(
            f"{url}/querybatch",
            json={"queries": [{"package": {"name": "vulnpkg", "ecosystem": "PyPI"}, "version": "1.0.0"}]},
        )
        assert batch.json() == {"results": [{"vulns": [{"id": "PYSEC-2099-1", "modified": "2099-01-02T00:00:00Z"}]}]}
        record = httpx.get(f"{url}/vulns/PYSEC-2099-1").json()
        assert record["affected"][0]["package"]["name"] == "VulnPkg"
        assert httpx.get(f"{url}/vulns/NOPE-1").status_code == 404
        found = PysentryChecker(url, cache_dir=tmp_path / "cache").check(
            [
                PackageVersion("acme", "vulnpkg", "1.0.0"),
                PackageVersion("globex", "vulnpkg", "1.0.0"),
                PackageVersion("acme", "vulnpkg", "1.3.0"),
            ]
        )
    summary = sorted((v.tenant_slug, v.version, v.advisory_id) for v in found)
    assert summary == [("acme", "1.0.0", "PYSEC-2099-1"), ("globex", "1.0.0", "PYSEC-2099-1")]
    assert found[0].fixed_versions and "1.2.0" in found[0].fixed_versions


def test_advisories_describe_their_affected_ranges_and_versions(small_db: Path) -> None:
    database = AdvisoryDatabase(small_db)
    (first,) = database.query("vulnpkg", "1.0.0")
    assert first.affected == [">= 0, < 1.2.0"]
    (second,) = database.query("vulnpkg", "1.5.1")
    assert second.affected == [">= 1.5, < 1.5.3", "1.5.0, 1.5.1, 1.5.2"]
    assert database.configured and not AdvisoryDatabase(None).configured
