"""The release policy store behaves the same on every adapter: memory, SQLite, PostgreSQL, SQL Server.

SQL adapters are opened twice on one database, as two server processes would be: what one writes, the other reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from pyregistry_application.release_policy_ports import ReleasePolicyStore
from pyregistry_domain.release_policy import PolicyOverride, ReleaseApproval
from tests.contract.conftest import STORE_PARAMS, add_mirroring_tenants, other_processes

pytestmark = pytest.mark.parametrize("store_location", STORE_PARAMS, indirect=True)

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
OpenPolicies = Callable[[], ReleasePolicyStore]


@pytest.fixture
def open_policies(store_location: tuple[str, str]) -> Iterator[OpenPolicies]:
    """Opens the policy store of another "process" on the same database (memory: the one process there is)."""
    yield from other_processes(store_location, add_mirroring_tenants, lambda registry: registry.release_policies)


def _approval(n: int, tenant_id: str = "t1", version: str | None = "1.0") -> ReleaseApproval:
    return ReleaseApproval(
        id=f"a{n}",
        tenant_id=tenant_id,
        project="tool",
        version=version,
        reason=f"reason {n}",
        approved_by="admin@corp.test",
        approved_at=NOW + timedelta(minutes=n),
    )


def test_overrides_are_per_tenant_replaced_whole_and_empty_by_default(open_policies: OpenPolicies) -> None:
    first, second = open_policies(), open_policies()
    assert first.get_override("t1") == PolicyOverride()
    first.put_override("t1", PolicyOverride(min_release_age="7d", block_severity="high"))
    assert second.get_override("t1") == PolicyOverride(min_release_age="7d", block_severity="high")
    assert second.get_override("t2") == PolicyOverride()
    second.put_override("t1", PolicyOverride(vulnerability_action="hide", vulnerability_severity="medium"))
    assert first.get_override("t1") == PolicyOverride(vulnerability_action="hide", vulnerability_severity="medium")


def test_the_first_upload_time_recorded_for_a_filename_is_kept(open_policies: OpenPolicies) -> None:
    first, second = open_policies(), open_policies()
    first.record_upload_times({"a-1.0.tar.gz": NOW, "b-1.0.tar.gz": NOW + timedelta(seconds=1.5)})
    second.record_upload_times({"a-1.0.tar.gz": NOW - timedelta(days=30), "c-1.0.tar.gz": NOW})
    second.record_upload_times({})
    assert first.upload_times(["a-1.0.tar.gz", "b-1.0.tar.gz", "c-1.0.tar.gz", "missing.whl"]) == {
        "a-1.0.tar.gz": NOW,
        "b-1.0.tar.gz": NOW + timedelta(seconds=1.5),
        "c-1.0.tar.gz": NOW,
    }
    assert second.upload_times([]) == {}


def test_many_upload_times_are_read_back_in_batches(open_policies: OpenPolicies) -> None:
    store = open_policies()
    times = {f"lib-{n}.0.tar.gz": NOW + timedelta(seconds=n) for n in range(1200)}
    store.record_upload_times(times)
    assert open_policies().upload_times(list(times)) == times


def test_approvals_are_listed_newest_first_per_tenant_and_removed_once(open_policies: OpenPolicies) -> None:
    first, second = open_policies(), open_policies()
    for approval in (_approval(1), _approval(2, version=None), _approval(3, tenant_id="t2")):
        first.add_approval(approval)
    assert second.list_approvals("t1") == [_approval(2, version=None), _approval(1)]
    assert second.list_approvals("t2") == [_approval(3, tenant_id="t2")]
    assert second.remove_approval("t2", "a1") is None, "another tenant's approval is not removed"
    assert second.remove_approval("t1", "a1") == _approval(1)
    assert first.remove_approval("t1", "a1") is None
    assert first.list_approvals("t1") == [_approval(2, version=None)]
