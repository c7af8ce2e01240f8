"""Builders shared by the metadata contract suites: tenants, tokens, projects, releases, wheels and concurrent
runs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_domain.distributions import DistributionKind, ReleaseFile
from pyregistry_domain.projects import Project, Release
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.tokens import ApiToken, TokenScope

T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def tenant(slug: str = "acme", tenant_id: str | None = None) -> Tenant:
    return Tenant(
        id=tenant_id or f"t-{slug}", slug=slug, display_name=slug.title(), mirroring_enabled=False, created_at=T0
    )


def read_token(tenant_id: str) -> ApiToken:
    """A read token of ``tenant_id`` with key id ``k1`` and id ``id1`` (its secret hash a placeholder: the stores
    never check secrets)."""
    return ApiToken(
        id="id1",
        key_id="k1",
        secret_hash="0" * 64,
        tenant_id=tenant_id,
        name="reader",
        scopes=frozenset({TokenScope.READ}),
        created_at=T0,
        created_by="test",
    )


def project(tenant_id: str, name: str, summary: str | None = "a package") -> Project:
    return Project(tenant_id=tenant_id, name=name, normalized_name=name.lower(), created_at=T0, summary=summary)


def release(tenant_id: str, name: str, version: str) -> Release:
    return Release(tenant_id=tenant_id, normalized_name=name.lower(), version=version, created_at=T0)


def wheel(tenant_id: str, name: str, version: str, size: int = 100, tag: str = "py3-none-any") -> ReleaseFile:
    return ReleaseFile(
        tenant_id=tenant_id,
        project_name=name,
        normalized_name=name.lower(),
        version=version,
        filename=f"{name.lower()}-{version}-{tag}.whl",
        kind=DistributionKind("bdist_wheel"),
        sha256="ab" * 32,
        size=size,
        blob_key=f"{tenant_id}/{name}/{version}/{tag}",
        uploaded_at=T0,
        uploaded_by="ci@acme.test",
        requires_python=">=3.9",
        metadata_sha256="cd" * 32,
    )


def publish(store: MetadataBackend, tenant_id: str, name: str, version: str, **kwargs: object) -> ReleaseFile:
    file = wheel(tenant_id, name, version, **kwargs)  # type: ignore[arg-type]
    store.catalogue.add_release_file(project(tenant_id, name), release(tenant_id, name, version), file)
    return file


def run_concurrently(target: Callable[[int], None], arguments: Iterable[int]) -> None:
    """Run ``target(argument)`` for every argument, each in its own thread, and wait for all of them."""
    threads = [threading.Thread(target=target, args=(argument,)) for argument in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
