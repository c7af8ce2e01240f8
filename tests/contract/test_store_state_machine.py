"""One random history, three stores: memory, SQLite and PostgreSQL must give the same answer to every call.

A Hypothesis state machine creates tenants, publishes files, yanks and purges releases, issues and revokes tokens,
and reads every listing per tenant, on the three adapters side by side. Any difference (a lost tenant filter, a
yank that one store forgets, a purge that returns other files) fails with the shortest history that shows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_domain.distributions import DistributionKind, ReleaseFile
from pyregistry_domain.projects import Project, Release
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.tokens import ApiToken, TokenScope
from pyregistry_infrastructure.metadata_stores.memory_backend import memory_backend
from pyregistry_infrastructure.metadata_stores.pool import PoolLimits
from pyregistry_infrastructure.metadata_stores.postgres import PostgresDatabase
from pyregistry_infrastructure.metadata_stores.sql_backend import sql_backend
from pyregistry_infrastructure.metadata_stores.sqlite import SqliteDatabase
from tests.support.postgres import postgres_schema, require_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # Hypothesis drives three stores for many steps

T0 = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
SLUGS = ["acme", "globex", "initech"]
NAMES = ["alpha", "beta-tools"]
VERSIONS = ["1.0", "1.1", "2.0"]
TAGS = ["py3-none-any", "cp311-cp311-manylinux_2_17_x86_64"]
SCOPES = [TokenScope("read"), TokenScope("publish")]


def _filename(name: str, version: str, tag: str) -> str:
    return f"{name.replace('-', '_')}-{version}-{tag}.whl"


def _comparable(answer: object) -> object:
    """``answer`` with project serials zeroed: serials only grow, and the SQL stores also bump the counter on
    writes that change nothing (it doubles as the catalogue lock), so their values differ from memory's."""
    if isinstance(answer, Project):
        return replace(answer, serial=0)
    if isinstance(answer, list):
        return [_comparable(item) for item in answer]
    return answer


def _outcome(call: Callable[[MetadataBackend], object], store: MetadataBackend) -> object:
    """The answer, or the name of the exception the store raised (compared like an answer)."""
    try:
        return _comparable(call(store))
    except Exception as error:
        return f"raised {type(error).__name__}"


class StoresAgree(RuleBasedStateMachine):
    """Drives the three adapters with the same calls and compares every answer."""

    stores: ClassVar[dict[str, MetadataBackend]] = {}
    examples: ClassVar[Iterator[int]] = count()

    def __init__(self) -> None:
        super().__init__()
        # The stores live for the whole test (a fresh PostgreSQL schema per example costs a second); every example
        # works in its own namespace of tenant ids, slugs and token ids, so examples never see each other's data.
        self.namespace = f"x{next(self.examples)}"
        self.tenants: set[str] = set()
        self.tokens: dict[str, str] = {}
        self.clock = T0

    def tenant_id(self, slug: str) -> str:
        return f"{self.namespace}-{slug}"

    def slug(self, slug: str) -> str:
        return f"{slug}-{self.namespace}"

    def same(self, call: Callable[[MetadataBackend], object]) -> object:
        """Run ``call`` on every store; all must answer alike (sorted lists compare by content)."""
        answers = {kind: _outcome(call, opened) for kind, opened in self.stores.items()}
        expected = answers["memory"]
        for kind, answer in answers.items():
            assert answer == expected, f"{kind} answered {answer!r}, memory answered {expected!r}"
        return expected

    def tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    @rule(slug=st.sampled_from(SLUGS))
    def add_tenant(self, slug: str) -> None:
        tenant = Tenant(
            id=self.tenant_id(slug),
            slug=self.slug(slug),
            display_name=slug.title(),
            mirroring_enabled=False,
            created_at=self.tick(),
        )
        self.same(lambda store: store.tenants.add_tenant(tenant))
        self.tenants.add(slug)

    @precondition(lambda self: bool(self.tenants))
    @rule(
        data=st.data(),
        name=st.sampled_from(NAMES),
        version=st.sampled_from(VERSIONS),
        tag=st.sampled_from(TAGS),
        size=st.integers(0, 10**9),
    )
    def publish(self, data: st.DataObject, name: str, version: str, tag: str, size: int) -> None:
        slug = data.draw(st.sampled_from(sorted(self.tenants)))
        tenant_id, when = self.tenant_id(slug), self.tick()
        project = Project(tenant_id=tenant_id, name=name, normalized_name=name, created_at=when, summary=f"{name} kit")
        release = Release(tenant_id=tenant_id, normalized_name=name, version=version, created_at=when)
        file = ReleaseFile(
            tenant_id=tenant_id,
            project_name=name,
            normalized_name=name,
            version=version,
            filename=_filename(name, version, tag),
            kind=DistributionKind("bdist_wheel"),
            sha256=f"{size:064x}",
            size=size,
            blob_key=f"{tenant_id}/{name}/{version}/{tag}",
            uploaded_at=when,
            uploaded_by=f"ci@{slug}.test",
            requires_python=">=3.9" if tag.startswith("py3") else None,
            metadata_sha256=f"{size + 1:064x}",
        )
        self.same(lambda store: store.catalogue.add_release_file(project, release, file))

    @rule(
        slug=st.sampled_from(SLUGS),
        name=st.sampled_from(NAMES),
        version=st.sampled_from(VERSIONS),
        yanked=st.booleans(),
        reason=st.none() | st.sampled_from(["broken build", "CVE-2026-1"]),
    )
    def yank(self, slug: str, name: str, version: str, yanked: bool, reason: str | None) -> None:
        self.same(lambda store: store.catalogue.set_release_yanked(self.tenant_id(slug), name, version, yanked, reason))

    @rule(
        slug=st.sampled_from(SLUGS),
        name=st.sampled_from(NAMES),
        version=st.sampled_from(VERSIONS),
        tag=st.sampled_from(TAGS),
    )
    def purge_file(self, slug: str, name: str, version: str, tag: str) -> None:
        self.same(lambda store: store.catalogue.delete_file(self.tenant_id(slug), _filename(name, version, tag)))

    @rule(slug=st.sampled_from(SLUGS), name=st.sampled_from(NAMES), version=st.sampled_from(VERSIONS))
    def purge_release(self, slug: str, name: str, version: str) -> None:
        self.same(lambda store: sorted(store.catalogue.delete_release(self.tenant_id(slug), name, version), key=str))

    @rule(slug=st.sampled_from(SLUGS), name=st.sampled_from(NAMES))
    def purge_project(self, slug: str, name: str) -> None:
        self.same(lambda store: sorted(store.catalogue.delete_project(self.tenant_id(slug), name), key=str))

    @precondition(lambda self: bool(self.tenants))
    @rule(data=st.data(), scopes=st.sets(st.sampled_from(SCOPES), min_size=1), expires=st.booleans())
    def issue_token(self, data: st.DataObject, scopes: set[TokenScope], expires: bool) -> None:
        slug = data.draw(st.sampled_from(sorted(self.tenants)))
        number = len(self.tokens)
        when = self.tick()
        token = ApiToken(
            id=f"{self.namespace}-tok-{number}",
            key_id=f"{self.namespace}KEY{number}",
            secret_hash=f"hash-{number}",
            tenant_id=self.tenant_id(slug),
            name=f"token {number}",
            scopes=frozenset(scopes),
            created_at=when,
            created_by=f"admin@{slug}.test",
            expires_at=when + timedelta(days=30) if expires else None,
        )
        self.same(lambda store: store.tokens.add_token(token))
        self.tokens[token.id] = token.key_id

    @precondition(lambda self: bool(self.tokens))
    @rule(data=st.data(), slug=st.sampled_from(SLUGS))
    def revoke_token(self, data: st.DataObject, slug: str) -> None:
        token_id = data.draw(st.sampled_from(sorted(self.tokens)))
        when = self.tick()
        self.same(lambda store: store.tokens.revoke_token(self.tenant_id(slug), token_id, when))

    @rule(slug=st.sampled_from(SLUGS))
    def read_tenant(self, slug: str) -> None:
        """Everything one tenant can see: projects, releases, files by name, tokens."""
        tenant_id = self.tenant_id(slug)
        self.same(lambda store: store.tenants.get_tenant_by_slug(self.slug(slug)))
        self.same(lambda store: store.tokens.list_tokens(tenant_id))
        for with_mirrored in (False, True):
            self.same(
                lambda store, with_mirrored=with_mirrored: sorted(  # type: ignore[misc]
                    store.catalogue.listed_projects(tenant_id, with_mirrored=with_mirrored),
                    key=lambda project: project.normalized_name,
                )
            )
        for key_id in self.tokens.values():
            self.same(lambda store, key_id=key_id: store.tokens.get_token_by_key_id(key_id))  # type: ignore[misc]
        for name in NAMES:
            self.same(lambda store, name=name: store.catalogue.get_project(tenant_id, name))  # type: ignore[misc]
            self.same(lambda store, name=name: store.catalogue.list_releases(tenant_id, name))  # type: ignore[misc]
            self.same(lambda store, name=name: store.catalogue.list_files(tenant_id, name))  # type: ignore[misc]
            self.same(lambda store, name=name: sorted(store.catalogue.release_versions(tenant_id, name)))  # type: ignore[misc]
            for version in VERSIONS:
                for tag in TAGS:
                    filename = _filename(name, version, tag)
                    self.same(lambda store, filename=filename: store.catalogue.get_file(tenant_id, filename))  # type: ignore[misc]

    @invariant()
    def listings_agree(self) -> None:
        self.same(lambda store: [t for t in store.tenants.list_tenants() if t.id.startswith(f"{self.namespace}-")])
        for slug in SLUGS:
            self.same(lambda store, slug=slug: store.catalogue.list_projects(self.tenant_id(slug)))  # type: ignore[misc]


def test_memory_sqlite_and_postgres_stores_agree(tmp_path: Path) -> None:
    require_postgres()
    with ExitStack() as resources:
        sqlite = sql_backend(resources.enter_context(closing(SqliteDatabase(str(tmp_path / "registry.sqlite3")))))
        postgres_url = resources.enter_context(postgres_schema())
        postgres = sql_backend(resources.enter_context(closing(PostgresDatabase(postgres_url, PoolLimits(2, 1)))))
        StoresAgree.stores = {"memory": memory_backend(), "sqlite": sqlite, "postgres": postgres}
        StoresAgree.TestCase.settings = settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # explain traces every query: slow
        )
        StoresAgree.TestCase().runTest()
