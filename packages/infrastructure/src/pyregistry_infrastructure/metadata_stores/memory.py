"""In-memory RegistryStore for throwaway runs and unit tests."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType

from pyregistry_application.dto import AuditQuery, Page, RegistryStats
from pyregistry_domain.audit import AuditEvent
from pyregistry_domain.distributions import ReleaseFile
from pyregistry_domain.errors import AlreadyExists, NotFound
from pyregistry_domain.project_status import ACTIVE, ProjectStatus
from pyregistry_domain.projects import Project, Release
from pyregistry_domain.roles import TenantRole
from pyregistry_domain.tenants import Tenant
from pyregistry_domain.tokens import ApiToken
from pyregistry_domain.users import User
from pyregistry_infrastructure.metadata_stores.search import rank_projects

__all__ = ["MemoryRegistryStore"]


class MemoryRegistryStore:
    """Keeps everything in dictionaries behind one lock; nothing survives the process."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tenants: dict[str, Tenant] = {}
        self._users: dict[str, User] = {}
        self._tokens: dict[str, ApiToken] = {}
        self._projects: dict[tuple[str, str], Project] = {}
        self._releases: dict[tuple[str, str, str], Release] = {}
        self._files: dict[tuple[str, str], ReleaseFile] = {}
        self._audit: list[AuditEvent] = []
        self._statuses: dict[tuple[str, str], ProjectStatus] = {}
        self._serial = 0

    def close(self) -> None:
        """Nothing to release."""

    # tenants

    def add_tenant(self, tenant: Tenant) -> None:
        with self._lock:
            if tenant.id in self._tenants or any(t.slug == tenant.slug for t in self._tenants.values()):
                raise AlreadyExists(f"tenant {tenant.slug!r} already exists")
            self._tenants[tenant.id] = tenant

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        return self._tenants.get(tenant_id)

    def get_tenant_by_slug(self, slug: str) -> Tenant | None:
        with self._lock:
            return next((tenant for tenant in self._tenants.values() if tenant.slug == slug), None)

    def list_tenants(self) -> list[Tenant]:
        with self._lock:
            return sorted(self._tenants.values(), key=lambda tenant: tenant.slug)

    def set_tenant_mirroring(self, tenant_id: str, enabled: bool) -> None:
        with self._lock:
            tenant = self._tenants.get(tenant_id)
            if tenant is None:
                raise NotFound(f"tenant {tenant_id!r} does not exist")
            self._tenants[tenant_id] = replace(tenant, mirroring_enabled=enabled)

    # users

    def add_user(self, user: User) -> None:
        with self._lock:
            if user.id in self._users or any(u.email == user.email for u in self._users.values()):
                raise AlreadyExists(f"user {user.email!r} already exists")
            self._users[user.id] = user

    def get_user(self, user_id: str) -> User | None:
        return self._users.get(user_id)

    def get_user_by_email(self, email: str) -> User | None:
        with self._lock:
            return next((user for user in self._users.values() if user.email == email), None)

    def set_user_password(self, user_id: str, password_hash: str) -> None:
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                raise NotFound(f"user {user_id!r} does not exist")
            self._users[user_id] = replace(user, password_hash=password_hash)

    def set_tenant_role(self, user_id: str, tenant_id: str, role: TenantRole) -> None:
        with self._lock:
            user = self._users.get(user_id)
            if user is None or tenant_id not in self._tenants:
                raise NotFound("user or tenant does not exist")
            self._users[user_id] = replace(user, roles=MappingProxyType({**user.roles, tenant_id: role}))

    def remove_tenant_role(self, user_id: str, tenant_id: str) -> bool:
        with self._lock:
            user = self._users.get(user_id)
            if user is None or tenant_id not in user.roles:
                return False
            kept = {tenant: role for tenant, role in user.roles.items() if tenant != tenant_id}
            self._users[user_id] = replace(user, roles=MappingProxyType(kept))
            return True

    def list_tenant_members(self, tenant_id: str) -> list[User]:
        with self._lock:
            return sorted((user for user in self._users.values() if tenant_id in user.roles), key=lambda u: u.email)

    # tokens

    def add_token(self, token: ApiToken) -> None:
        with self._lock:
            if token.id in self._tokens or any(t.key_id == token.key_id for t in self._tokens.values()):
                raise AlreadyExists("token already exists")
            self._tokens[token.id] = token

    def get_token_by_key_id(self, key_id: str) -> ApiToken | None:
        with self._lock:
            return next((token for token in self._tokens.values() if token.key_id == key_id), None)

    def list_tokens(self, tenant_id: str) -> list[ApiToken]:
        with self._lock:
            found = [token for token in self._tokens.values() if token.tenant_id == tenant_id]
            return sorted(found, key=lambda token: token.created_at, reverse=True)

    def revoke_token(self, tenant_id: str, token_id: str, when: datetime) -> bool:
        with self._lock:
            token = self._tokens.get(token_id)
            if token is None or token.tenant_id != tenant_id:
                return False
            if token.revoked_at is None:
                self._tokens[token_id] = token.revoked(when)
            return True

    def touch_token(self, token_id: str, when: datetime) -> None:
        with self._lock:
            token = self._tokens.get(token_id)
            if token is not None:
                self._tokens[token_id] = replace(token, last_used_at=when)

    # projects

    def _next_serial(self) -> int:
        self._serial += 1
        return self._serial

    def _bump(self, tenant_id: str, normalized_name: str) -> None:
        project = self._projects.get((tenant_id, normalized_name))
        if project is not None:
            self._projects[(tenant_id, normalized_name)] = replace(project, serial=self._next_serial())

    def get_project(self, tenant_id: str, normalized_name: str) -> Project | None:
        return self._projects.get((tenant_id, normalized_name))

    def list_projects(self, tenant_id: str) -> list[Project]:
        with self._lock:
            found = [project for (tid, _), project in self._projects.items() if tid == tenant_id]
            return sorted(found, key=lambda project: project.normalized_name)

    def add_release_file(self, project: Project, release: Release, file: ReleaseFile) -> list[ReleaseFile]:
        with self._lock:
            key = (project.tenant_id, project.normalized_name)
            clash = self._files.get((file.tenant_id, file.filename))
            taking_over = project.origin == "local" and self._projects.get(key, project).origin != "local"
            if clash is not None and not (taking_over and clash.normalized_name == key[1]):
                raise AlreadyExists(f"File already exists: {file.filename!r}")
            removed = self._drop_mirrored(key) if taking_over else []
            existing = self._projects.get(key)
            stored_project = project
            if existing is not None:
                stored_project = replace(
                    project,
                    created_at=existing.created_at,
                    summary=existing.summary if project.summary is None else project.summary,
                    mirrored_at=existing.mirrored_at if project.mirrored_at is None else project.mirrored_at,
                )
            self._projects[key] = replace(stored_project, serial=self._next_serial())
            release_key = (release.tenant_id, release.normalized_name, release.version)
            self._releases.setdefault(release_key, release)
            stored = self._releases[release_key]
            self._files[(file.tenant_id, file.filename)] = replace(
                file, yanked=stored.yanked, yanked_reason=stored.yanked_reason
            )
            return removed

    def _drop_mirrored(self, key: tuple[str, str]) -> list[ReleaseFile]:
        """Remove a mirrored project a local upload takes over, with its releases and files."""
        del self._projects[key]
        for release_key in [k for k in self._releases if k[:2] == key]:
            del self._releases[release_key]
        mine = [k for k, file in self._files.items() if k[0] == key[0] and file.normalized_name == key[1]]
        return [self._files.pop(k) for k in mine]

    def list_releases(self, tenant_id: str, normalized_name: str) -> list[Release]:
        with self._lock:
            found = [r for (tid, name, _), r in self._releases.items() if tid == tenant_id and name == normalized_name]
        return sorted(found, key=lambda release: (release.created_at, release.version))

    def _with_release(self, file: ReleaseFile) -> ReleaseFile:
        release = self._releases.get((file.tenant_id, file.normalized_name, file.version))
        if release is None:
            return file
        return replace(file, yanked=release.yanked, yanked_reason=release.yanked_reason)

    def list_files(self, tenant_id: str, normalized_name: str) -> list[ReleaseFile]:
        with self._lock:
            return [
                self._with_release(file)
                for (tid, _), file in self._files.items()
                if tid == tenant_id and file.normalized_name == normalized_name
            ]

    def get_file(self, tenant_id: str, filename: str) -> ReleaseFile | None:
        with self._lock:
            file = self._files.get((tenant_id, filename))
            return self._with_release(file) if file is not None else None

    def set_release_yanked(
        self, tenant_id: str, normalized_name: str, version: str, yanked: bool, reason: str | None
    ) -> bool:
        with self._lock:
            key = (tenant_id, normalized_name, version)
            release = self._releases.get(key)
            if release is None:
                return False
            self._releases[key] = replace(release, yanked=yanked, yanked_reason=reason if yanked else None)
            self._bump(tenant_id, normalized_name)
            return True

    def delete_file(self, tenant_id: str, filename: str) -> ReleaseFile | None:
        with self._lock:
            file = self._files.pop((tenant_id, filename), None)
            if file is None:
                return None
            self._bump(tenant_id, file.normalized_name)
            return self._with_release(file)

    def delete_release(self, tenant_id: str, normalized_name: str, version: str) -> list[ReleaseFile]:
        with self._lock:
            removed = [
                self._with_release(self._files.pop(key))
                for key, file in list(self._files.items())
                if key[0] == tenant_id and file.normalized_name == normalized_name and file.version == version
            ]
            self._releases.pop((tenant_id, normalized_name, version), None)
            self._bump(tenant_id, normalized_name)
            return removed

    def delete_project(self, tenant_id: str, normalized_name: str) -> list[ReleaseFile]:
        with self._lock:
            removed = [
                self._with_release(self._files.pop(key))
                for key, file in list(self._files.items())
                if key[0] == tenant_id and file.normalized_name == normalized_name
            ]
            for key in [k for k in self._releases if k[0] == tenant_id and k[1] == normalized_name]:
                del self._releases[key]
            self._projects.pop((tenant_id, normalized_name), None)
            return removed

    def get_project_status(self, tenant_id: str, normalized_name: str) -> ProjectStatus:
        with self._lock:
            return self._statuses.get((tenant_id, normalized_name), ACTIVE)

    def list_project_statuses(self, tenant_id: str) -> dict[str, ProjectStatus]:
        with self._lock:
            return {name: status for (tenant, name), status in self._statuses.items() if tenant == tenant_id}

    def set_project_status(self, tenant_id: str, normalized_name: str, status: ProjectStatus, when: datetime) -> None:
        with self._lock:
            if status == ACTIVE:
                self._statuses.pop((tenant_id, normalized_name), None)
            else:
                self._statuses[(tenant_id, normalized_name)] = status
            self._bump(tenant_id, normalized_name)

    def search_projects(self, tenant_ids: list[str], query: str, limit: int, offset: int) -> Page[Project]:
        with self._lock:
            wanted = set(tenant_ids)
            ranked = rank_projects([p for (tid, _), p in self._projects.items() if tid in wanted], query)
            return Page(items=ranked[offset : offset + limit], total=len(ranked))

    def stats(self) -> RegistryStats:
        with self._lock:
            return RegistryStats(
                tenants=len(self._tenants),
                projects=len(self._projects),
                releases=len(self._releases),
                files=len(self._files),
                stored_bytes=sum(file.size for file in self._files.values() if file.cached),
            )

    # audit

    def add_audit_event(self, event: AuditEvent) -> None:
        with self._lock:
            self._audit.append(event)

    def list_audit_events(self, query: AuditQuery) -> Page[AuditEvent]:
        with self._lock:
            matching = [
                event
                for event in reversed(self._audit)
                if (query.tenant_id is None or event.tenant_id == query.tenant_id)
                and (query.action is None or event.action.startswith(query.action))
                and (query.actor is None or query.actor.lower() in event.actor.lower())
            ]
            matching.sort(key=lambda event: event.occurred_at, reverse=True)
            return Page(items=matching[query.offset : query.offset + query.limit], total=len(matching))
