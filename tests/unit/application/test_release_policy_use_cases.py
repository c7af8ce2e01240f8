"""Release policies driven through ``PackageIndex`` and ``ReleasePolicies`` over a mirroring tenant.

The upstream is the in-process index of the mirror tests with PEP 700 upload times added; the advisory database is
the real OSV directory reader over records the tests write; time moves by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from pyregistry_application.dto import AuditQuery
from pyregistry_application.index import PackageIndex
from pyregistry_application.mirror_scanning import ScanBeforeServe
from pyregistry_application.mirroring import MirrorOptions
from pyregistry_application.release_policy import (
    APPROVAL_REVOKED_ACTION,
    POLICY_CHANGED_ACTION,
    RELEASE_APPROVED_ACTION,
    ReleaseHeld,
    ReleasePolicies,
    VersionHidden,
)
from pyregistry_application.scan_ports import ScanResult
from pyregistry_application.security.findings import Severity
from pyregistry_application.security.wheel_scan import ScanWheel
from pyregistry_application.upload_times import UploadTimeRecorder
from pyregistry_domain.errors import NotFound, ValidationFailed
from pyregistry_domain.release_policy import PolicyOverride, ReleasePolicy
from pyregistry_infrastructure.metadata_stores.memory_scans import MemoryScanResultStore
from pyregistry_infrastructure.scanning.heuristics import HeuristicScanner
from pyregistry_infrastructure.scanning.unpack import SafeWheelUnpacker
from pyregistry_infrastructure.vulnerabilities.osv_db import AdvisoryDatabase
from tests.support.background import mirror_service
from tests.support.dists import build_wheel
from tests.support.memory_upstream import MemoryUpstream
from tests.support.vulnerability_advisories import write_vulnerability_advisory
from tests.unit.application.test_admin_use_cases import SteppingClock
from tests.unit.application.test_application_without_web import App

OLD, MIDDLE, NEW = "tool-1.0-py3-none-any.whl", "tool-1.1-py3-none-any.whl", "tool-2.0-py3-none-any.whl"
DAY = 86400


class World:
    """Tenant ``corp`` mirrors ``tool`` 1.0 (30 days old), 1.1 (10 days) and 2.0 (1 day); 2.0 is affected by a
    high-severity advisory, 1.1 by a low one."""

    def __init__(self, root: Path, defaults: ReleasePolicy) -> None:
        self.clock = SteppingClock()
        self.app = App(root, self.clock)
        for slug in ("corp", "other"):
            self.app.tenants.create_tenant(
                slug=slug, display_name=slug, admin_email=None, admin_password=None, mirroring_enabled=True, actor="t"
            )
        advisories = root / "advisories"
        high = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N"
        write_vulnerability_advisory(advisories, "PYSEC-2099-20", "tool", ["2.0"], cvss_vector=high)
        write_vulnerability_advisory(advisories, "PYSEC-2099-11", "tool", ["1.1"], rating="LOW")
        self.upstream = MemoryUpstream()
        out = root / "upstream"
        page = self.upstream.serve("tool", [build_wheel(out, "tool", v) for v in ("1.0", "1.1", "2.0")])
        ages = {OLD: 30, MIDDLE: 10, NEW: 1}
        self.upstream.pages["tool"] = msgspec.structs.replace(
            page,
            files=[
                msgspec.structs.replace(f, upload_time=self.clock.now() - timedelta(days=ages[f.filename]))
                for f in page.files
            ],
        )
        store = self.app.store
        self.store = store.release_policies
        self.policies = ReleasePolicies(
            store.tenants, self.store, defaults, self.clock, self.app.ids, self.app.audit, AdvisoryDatabase(advisories)
        )
        recorder = UploadTimeRecorder(self.upstream, self.store)
        options = MirrorOptions(eager_download_percent=0)
        self.service = mirror_service(
            store, self.app.storage, recorder, self.clock, self.app.audit, root / "spool", options
        )
        self.index = PackageIndex(
            store.catalogue, self.app.storage, self.app.access, self.service, policies=self.policies
        )
        self.reader = self.app.tokens.issue(tenant_slug="corp", name="pip", scopes=["read"], actor="t").secret
        self.other_reader = self.app.tokens.issue(tenant_slug="other", name="pip", scopes=["read"], actor="t").secret

    def offered(self, tenant: str = "corp") -> list[str]:
        reader = self.reader if tenant == "corp" else self.other_reader
        return [file.filename for file in self.index.project_page(tenant, reader, "tool").files]

    def download(self, filename: str, version: str) -> None:
        self.index.download("corp", self.reader, "tool", filename, version=version)

    def audit(self, action: str) -> list[dict[str, str]]:
        events = self.app.audit.query(AuditQuery(action=action, limit=20)).items
        return [{"target": event.target, "actor": event.actor, **event.details} for event in events]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path, ReleasePolicy())
    yield built
    built.service.close()


def _week(world: World, tenant: str = "corp") -> None:
    world.policies.change(tenant, PolicyOverride(min_release_age="7d"), actor="admin@corp.test")


def test_files_younger_than_the_tenants_cooldown_are_not_offered_and_their_download_names_the_policy(
    world: World,
) -> None:
    assert world.offered() == [OLD, MIDDLE, NEW], "no cooldown by default"
    _week(world)
    page = world.index.project_page("corp", world.reader, "tool")
    assert [file.filename for file in page.files] == [OLD, MIDDLE]
    assert page.versions == ["1.0", "1.1"], "a version none of whose files is offered is not listed"
    assert world.offered("other") == [OLD, MIDDLE, NEW], "the override is the tenant's own"
    with pytest.raises(ReleaseHeld) as refused:
        world.download(NEW, "2.0")
    assert refused.value.message == (
        f"{NEW} is held by the tenant's release cooldown policy (min_release_age = 7d) until "
        "2026-01-07T00:00:00Z (UTC); an admin can approve it early"
    )
    world.download(MIDDLE, "1.1")
    world.clock.advance(6 * DAY)
    assert world.offered() == [OLD, MIDDLE, NEW], "the file clears once it is old enough"


def test_an_approval_offers_a_held_version_early_until_it_is_revoked_and_both_are_audited(world: World) -> None:
    _week(world)
    approval = world.policies.approve("corp", "Tool", "2.0.0", "urgent security fix", actor="admin@corp.test")
    assert (approval.project, approval.version) == ("tool", "2.0.0")
    assert world.offered() == [OLD, MIDDLE], "2.0.0 is not the version 2.0 is stored as"
    world.policies.revoke("corp", approval.id, actor="admin@corp.test")
    approval = world.policies.approve("corp", "tool", "2.0", "urgent security fix", actor="admin@corp.test")
    assert world.offered() == [OLD, MIDDLE, NEW]
    world.download(NEW, "2.0")
    assert world.policies.approvals("corp", "TOOL") == [approval]
    assert world.policies.approvals("other") == []
    world.policies.revoke("corp", approval.id, actor="admin@corp.test")
    assert world.offered() == [OLD, MIDDLE]
    assert world.audit(RELEASE_APPROVED_ACTION)[0] == {
        "target": "tool/2.0",
        "actor": "admin@corp.test",
        "approval": approval.id,
        "version": "2.0",
        "reason": "urgent security fix",
    }
    assert world.audit(APPROVAL_REVOKED_ACTION)[0]["approval"] == approval.id
    with pytest.raises(NotFound, match="approval"):
        world.policies.revoke("corp", approval.id, actor="admin@corp.test")


def test_a_project_approval_covers_every_version_and_needs_a_reason(world: World) -> None:
    _week(world)
    with pytest.raises(ValidationFailed, match="a reason is required"):
        world.policies.approve("corp", "tool", None, "  ", actor="admin@corp.test")
    with pytest.raises(ValidationFailed):
        world.policies.approve("corp", "tool", "not a version", "why", actor="admin@corp.test")
    world.policies.approve("corp", "tool", None, "vetted by security", actor="admin@corp.test")
    assert world.offered() == [OLD, MIDDLE, NEW]


def test_files_without_an_upstream_upload_time_are_held_unless_the_tenant_allows_them(world: World) -> None:
    page = world.upstream.pages["tool"]
    world.upstream.pages["tool"] = msgspec.structs.replace(
        page, files=[msgspec.structs.replace(f, upload_time=None) if f.filename == OLD else f for f in page.files]
    )
    _week(world)
    assert world.offered() == [MIDDLE]
    with pytest.raises(ReleaseHeld, match="the upstream gave no upload time"):
        world.download(OLD, "1.0")
    world.policies.change("corp", PolicyOverride(unknown_upload_time="allow"), actor="admin@corp.test")
    assert world.offered() == [OLD, MIDDLE]


def test_policy_changes_are_validated_audited_with_old_and_new_values_and_can_return_to_the_default(
    world: World,
) -> None:
    with pytest.raises(ValidationFailed, match="invalid duration 'soon'"):
        world.policies.change("corp", PolicyOverride(min_release_age="soon"), actor="admin@corp.test")
    assert world.audit(POLICY_CHANGED_ACTION) == [], "a refused change stores and audits nothing"
    _week(world)
    view = world.policies.change(
        "corp", PolicyOverride(block_severity="high", min_release_age="36h"), actor="cli", source_ip="10.0.0.1"
    )
    assert view.overrides == {"min_release_age": "1d12h", "block_severity": "high"}
    assert (view.effective.min_release_age, view.defaults.min_release_age) == ("1d12h", "0")
    assert world.audit(POLICY_CHANGED_ACTION)[0] == {
        "target": "corp",
        "actor": "cli",
        "block_severity": "default -> high",
        "min_release_age": "7d -> 1d12h",
    }
    world.policies.change("corp", PolicyOverride(), actor="cli", cleared=frozenset({"min_release_age"}))
    assert world.policies.tenant_policy("corp").overrides == {"block_severity": "high"}
    assert len(world.audit(POLICY_CHANGED_ACTION)) == 3
    world.policies.change("corp", PolicyOverride(block_severity="HIGH"), actor="cli")
    assert len(world.audit(POLICY_CHANGED_ACTION)) == 3, "setting the same value changes and audits nothing"
    with pytest.raises(ValidationFailed, match="unknown policy setting 'colour'"):
        world.policies.change("corp", PolicyOverride(), actor="cli", cleared=frozenset({"colour"}))


def test_the_hide_policy_skips_versions_with_advisories_at_or_above_its_severity(world: World) -> None:
    world.policies.change("corp", PolicyOverride(vulnerability_action="hide"), actor="admin@corp.test")
    page = world.index.project_page("corp", world.reader, "tool")
    assert page.versions == ["1.0", "1.1"], "2.0 has a high advisory (CVSS 9.1), 1.1 only a low one"
    with pytest.raises(VersionHidden, match=r"hidden by the tenant's vulnerability policy .*: PYSEC-2099-20"):
        world.download(NEW, "2.0")
    world.policies.change("corp", PolicyOverride(vulnerability_severity="low"), actor="admin@corp.test")
    assert world.offered() == [OLD]


def test_the_mark_policy_offers_every_version_and_names_the_advisories(world: World) -> None:
    world.policies.change(
        "corp", PolicyOverride(vulnerability_action="mark", vulnerability_severity="low"), actor="admin@corp.test"
    )
    page = world.index.project_page("corp", world.reader, "tool")
    assert [file.filename for file in page.files] == [OLD, MIDDLE, NEW]
    assert {version: [m.id for m in marks] for version, marks in page.vulnerability_marks.items()} == {
        "1.1": ["PYSEC-2099-11"],
        "2.0": ["PYSEC-2099-20"],
    }
    assert page.vulnerability_marks["2.0"][0].severity == "critical"


def test_scan_before_serve_quarantines_at_each_tenants_own_block_severity(world: World) -> None:
    results = MemoryScanResultStore()
    gate = ScanBeforeServe(
        ScanWheel(SafeWheelUnpacker(), [HeuristicScanner()]),
        results,
        world.app.store.tenants,
        world.app.store.catalogue,
        world.app.audit,
        world.clock,
        Severity.CRITICAL,
        world.policies,
    )
    world.offered()
    corp, other = (
        world.app.store.tenants.get_tenant_by_slug("corp"),
        world.app.store.tenants.get_tenant_by_slug("other"),
    )
    assert corp is not None and other is not None
    file = world.app.store.catalogue.get_file(corp.id, NEW)
    assert file is not None
    results.put_scan(
        ScanResult(
            sha256=file.sha256,
            filename=NEW,
            scanned_at=world.clock.now(),
            findings=1,
            worst_severity="high",
            worst_rule_id="heuristic/dropper",
        )
    )
    assert gate.quarantined(file.tenant_id, [file]) == {}, "the default (critical) lets a high finding through"
    world.policies.change("corp", PolicyOverride(block_severity="high"), actor="admin@corp.test")
    assert list(gate.quarantined(file.tenant_id, [file])) == [NEW]
    assert gate.block_severity_for(other.id) is Severity.CRITICAL
    verdict = results.get_scan(file.sha256)
    assert verdict is not None
    assert gate.blocks(verdict, corp.id) and not gate.blocks(verdict, other.id)
