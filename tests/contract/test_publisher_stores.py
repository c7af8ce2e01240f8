"""The publisher and jti replay stores behave the same on every adapter: memory, SQLite, PostgreSQL, SQL Server.

SQL adapters are opened twice on one database, as two server processes would be: what one process records the
other must see, and a jti used through one must be refused through the other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_application.publishing_ports import JtiReplayStore, PublisherStore
from pyregistry_domain.errors import AlreadyExists
from pyregistry_domain.publishers import PublisherProvider, TrustedPublisher
from pyregistry_domain.tenants import Tenant
from pyregistry_infrastructure.metadata_stores.memory_backend import memory_backend
from pyregistry_infrastructure.metadata_stores.memory_publishers import MemoryJtiReplayStore
from pyregistry_infrastructure.metadata_stores.sql_backend import sql_backend
from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase
from tests.contract.conftest import STORE_PARAMS, open_database

pytestmark = pytest.mark.parametrize("store_location", STORE_PARAMS, indirect=True)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class Process:
    """What one server process holds: its metadata store and the publishing stores wired on it."""

    registry: MetadataBackend
    database: SqlDatabase | None

    @property
    def publishers(self) -> PublisherStore:
        return self.registry.publishers

    @property
    def replays(self) -> JtiReplayStore:
        return self.registry.jti_replays


OpenProcess = Callable[[], Process]


@pytest.fixture
def open_process(store_location: tuple[str, str]) -> Iterator[OpenProcess]:
    """Opens another "process" on the same database (memory: the one process there is)."""
    kind, where = store_location
    opened: list[MetadataBackend] = []
    memory: Process | None = None

    def factory() -> Process:
        nonlocal memory
        if kind == "memory" and memory is not None:
            return memory
        database = None if kind == "memory" else open_database(kind, where, max_connections=4)
        registry = memory_backend() if database is None else sql_backend(database)
        opened.append(registry)
        process = Process(registry, database)
        if not opened[1:]:
            for tid in ("t1", "t2"):
                registry.tenants.add_tenant(
                    Tenant(id=tid, slug=tid, display_name=tid, mirroring_enabled=False, created_at=NOW)
                )
        if kind == "memory":
            memory = process
        return process

    try:
        yield factory
    finally:
        for registry in opened:
            registry.close()


def remembered_jti(process: Process) -> set[tuple[str, str]]:
    """``(issuer, jti)`` pairs the replay store still holds, read from its storage."""
    if process.database is not None:
        return {(row["issuer"], row["jti"]) for row in process.database.rows("SELECT issuer, jti FROM oidc_used_jti")}
    assert isinstance(process.replays, MemoryJtiReplayStore)
    return set(process.replays._seen)


ISSUERS = {
    PublisherProvider.GITHUB: "https://token.actions.githubusercontent.com",
    PublisherProvider.GITLAB: "https://gitlab.com",
}


def make(pid: str, tenant: str = "t1", provider: PublisherProvider = PublisherProvider.GITHUB) -> TrustedPublisher:
    return TrustedPublisher(
        id=pid,
        tenant_id=tenant,
        project="acme-tools",
        provider=provider,
        issuer=ISSUERS[provider],
        repository="acme/tools",
        workflow="release.yml",
        environment=None,
        created_at=NOW,
        created_by="test",
    )


def test_sql_adapters_use_the_migrated_tables(open_process: OpenProcess) -> None:
    registry = open_process().registry
    if registry.archive is not None:
        assert {"0500_trusted_publishers", "0950_publisher_issuer"} <= set(registry.archive.applied_migrations())


def test_publishers_keep_their_issuer_and_unbound_ones_are_bound(open_process: OpenProcess) -> None:
    first, second = open_process(), open_process()
    self_hosted = replace(make("p1", provider=PublisherProvider.GITLAB), issuer="https://gitlab.example.test")
    first.publishers.add_publisher(self_hosted)
    legacy = [replace(make("p2"), issuer=""), replace(make("p3", tenant="t2"), issuer="")]
    legacy_gitlab = replace(make("p4", provider=PublisherProvider.GITLAB), issuer="", repository="group/other")
    for publisher in [*legacy, legacy_gitlab]:
        first.publishers.add_publisher(publisher)
    assert {p.id: p.issuer for p in second.publishers.list_publishers("t1")} == {
        "p1": "https://gitlab.example.test",
        "p2": "",
        "p4": "",
    }
    enterprise = "https://ghe.example.test/_services/token"
    assert second.publishers.bind_unbound_publishers(PublisherProvider.GITHUB, enterprise) == 2
    assert first.publishers.bind_unbound_publishers(PublisherProvider.GITHUB, "https://other.test") == 0
    issuers = {p.id: p.issuer for p in first.publishers.publishers_for_provider(PublisherProvider.GITHUB)}
    assert issuers == {"p2": enterprise, "p3": enterprise}
    gitlab = {p.id: p.issuer for p in first.publishers.publishers_for_provider(PublisherProvider.GITLAB)}
    assert gitlab == {"p1": "https://gitlab.example.test", "p4": ""}


def test_one_workflow_path_is_trusted_from_one_issuer_per_project(open_process: OpenProcess) -> None:
    publishers = open_process().publishers
    publishers.add_publisher(make("p1", provider=PublisherProvider.GITLAB))
    with pytest.raises(AlreadyExists):
        publishers.add_publisher(replace(make("p2", provider=PublisherProvider.GITLAB), issuer="https://other.test"))


def test_publishers_round_trip(open_process: OpenProcess) -> None:
    publishers = open_process().publishers
    publishers.add_publisher(make("p1"))
    publishers.add_publisher(make("p2", tenant="t2"))
    publishers.add_publisher(make("p3", provider=PublisherProvider.GITLAB))
    publishers.add_publisher(replace(make("p5"), environment="pypi"))
    with pytest.raises(AlreadyExists):
        publishers.add_publisher(make("p4"))
    with pytest.raises(AlreadyExists):
        publishers.add_publisher(replace(make("p6"), repository="ACME/Tools"))
    listed = sorted(publishers.list_publishers("t1"), key=lambda p: p.id)
    with_environment = replace(make("p5"), environment="pypi")
    assert listed == [make("p1"), make("p3", provider=PublisherProvider.GITLAB), with_environment]
    assert sorted(p.id for p in publishers.publishers_for_provider(PublisherProvider.GITHUB)) == ["p1", "p2", "p5"]
    assert not publishers.remove_publisher("t1", "p2")
    assert publishers.remove_publisher("t2", "p2")
    assert not publishers.remove_publisher("t2", "p2")
    assert sorted(p.id for p in publishers.publishers_for_provider(PublisherProvider.GITHUB)) == ["p1", "p5"]


def test_publishers_are_shared_by_processes_on_one_database(open_process: OpenProcess) -> None:
    first, second = open_process(), open_process()
    first.publishers.add_publisher(make("p1"))
    assert [p.id for p in second.publishers.list_publishers("t1")] == ["p1"]
    with pytest.raises(AlreadyExists):
        second.publishers.add_publisher(make("p2"))
    assert second.publishers.remove_publisher("t1", "p1")
    assert first.publishers.publishers_for_provider(PublisherProvider.GITHUB) == []


def test_jti_is_refused_until_expiry(open_process: OpenProcess) -> None:
    replays = open_process().replays
    expiry = NOW + timedelta(minutes=5)
    assert replays.claim("iss", "j1", expiry, NOW)
    assert not replays.claim("iss", "j1", expiry, NOW + timedelta(minutes=1))
    assert replays.claim("other-iss", "j1", expiry, NOW)
    assert replays.claim("iss", "j1", NOW + timedelta(minutes=20), NOW + timedelta(minutes=6))


def test_jti_replay_is_refused_by_another_process(open_process: OpenProcess) -> None:
    first, second = open_process(), open_process()
    expiry = NOW + timedelta(minutes=5)
    assert first.replays.claim("iss", "j1", expiry, NOW)
    assert not second.replays.claim("iss", "j1", expiry, NOW + timedelta(seconds=1))
    assert second.replays.claim("iss", "j2", expiry, NOW)
    assert not first.replays.claim("iss", "j2", expiry, NOW + timedelta(seconds=1))


def test_concurrent_first_use_of_one_jti_has_exactly_one_winner(open_process: OpenProcess) -> None:
    processes = [open_process(), open_process()]
    contenders = 8
    barrier = threading.Barrier(contenders)
    results: list[bool] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def contend(index: int) -> None:
        replays = processes[index % len(processes)].replays
        barrier.wait(30)
        try:
            won = replays.claim("iss", "contested", NOW + timedelta(minutes=5), NOW)
        except BaseException as exc:  # recorded and asserted below, a thread cannot fail the test itself
            with lock:
                errors.append(exc)
            return
        with lock:
            results.append(won)

    threads = [threading.Thread(target=contend, args=(index,)) for index in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert sorted(results) == [False] * (contenders - 1) + [True]


def test_expired_jti_rows_are_purged(open_process: OpenProcess) -> None:
    first, second = open_process(), open_process()
    assert first.replays.claim("iss", "short", NOW + timedelta(minutes=1), NOW)
    assert first.replays.claim("iss", "long", NOW + timedelta(minutes=30), NOW)
    assert remembered_jti(second) == {("iss", "short"), ("iss", "long")}
    assert second.replays.claim("iss", "later", NOW + timedelta(minutes=40), NOW + timedelta(minutes=5))
    assert remembered_jti(first) == {("iss", "long"), ("iss", "later")}
