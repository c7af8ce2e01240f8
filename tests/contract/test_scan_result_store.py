"""The scan-before-serve store behaves the same on every adapter: memory, SQLite, PostgreSQL, SQL Server.

SQL adapters are opened twice on one database, as two server processes would be: a verdict recorded by one is the
verdict of the other (a file is scanned once), and the first verdict or release of a key is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from pyregistry_application.scan_ports import FileRelease, ScanResult, ScanResultStore
from tests.contract.conftest import STORE_PARAMS, add_mirroring_tenants, other_processes

pytestmark = pytest.mark.parametrize("store_location", STORE_PARAMS, indirect=True)

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
OpenResults = Callable[[], ScanResultStore]


@pytest.fixture
def open_results(store_location: tuple[str, str]) -> Iterator[OpenResults]:
    """Opens the scan store of another "process" on the same database (memory: the one process there is)."""
    yield from other_processes(store_location, add_mirroring_tenants, lambda registry: registry.scans)


def _sha(n: int) -> str:
    return f"{n:064x}"


def _result(n: int, rule: str | None = "yara/dropper", severity: str | None = "critical") -> ScanResult:
    return ScanResult(
        sha256=_sha(n),
        filename=f"lib_{n}-1.0-py3-none-any.whl",
        scanned_at=NOW + timedelta(seconds=n),
        findings=0 if rule is None else 2,
        worst_severity=severity if rule else None,
        worst_rule_id=rule,
    )


def _release(tenant_id: str, n: int, reason: str = "reviewed") -> FileRelease:
    return FileRelease(
        tenant_id=tenant_id,
        sha256=_sha(n),
        filename=f"lib_{n}-1.0-py3-none-any.whl",
        released_by="admin@example.test",
        reason=reason,
        released_at=NOW + timedelta(minutes=n),
    )


def test_a_verdict_reads_back_exactly_in_another_process(open_results: OpenResults) -> None:
    first, second = open_results(), open_results()
    blocking, clean = _result(1), _result(2, rule=None)
    first.put_scan(blocking)
    first.put_scan(clean)
    assert second.get_scan(_sha(1)) == blocking
    assert second.get_scan(_sha(2)) == clean
    assert second.get_scan(_sha(3)) is None


def test_the_first_verdict_of_a_sha256_is_kept(open_results: OpenResults) -> None:
    first, second = open_results(), open_results()
    first.put_scan(_result(1))
    second.put_scan(_result(1, rule="ast/eval", severity="high"))
    assert first.get_scan(_sha(1)) == _result(1)


def test_find_scans_returns_only_known_sha256s_across_batches(open_results: OpenResults) -> None:
    results = open_results()
    for n in range(0, 1200, 3):
        results.put_scan(_result(n))
    asked = [_sha(n) for n in range(1200)]
    found = results.find_scans(asked)
    assert sorted(found) == [_sha(n) for n in range(0, 1200, 3)]
    assert found[_sha(999)] == _result(999)
    assert results.find_scans([]) == {}


def test_releases_are_per_tenant_and_the_first_is_kept(open_results: OpenResults) -> None:
    first, second = open_results(), open_results()
    first.add_release(_release("t1", 1))
    second.add_release(_release("t1", 1, reason="again"))
    first.add_release(_release("t2", 2))
    assert second.find_releases("t1", [_sha(1), _sha(2)]) == {_sha(1): _release("t1", 1)}
    assert second.find_releases("t2", [_sha(1), _sha(2)]) == {_sha(2): _release("t2", 2)}
    assert second.find_releases("t1", []) == {}
