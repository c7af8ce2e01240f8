"""Choosing where rate-limit buckets and login-failure counts live (``[shared_state]``)."""

from __future__ import annotations

import structlog

from pyregistry_application.limit_counters import LimitCounters
from pyregistry_infrastructure.secret_masking import mask_url
from pyregistry_infrastructure.settings import Settings
from pyregistry_infrastructure.shared_state.memory import MemoryLimitCounters

__all__ = ["build_limit_counters", "shared_state_backend"]

_log = structlog.get_logger(__name__)


def shared_state_backend(settings: Settings) -> str:
    """``memory``, ``redis`` or ``postgres``: ``auto`` picks Redis when ``redis_url`` is set, else PostgreSQL when
    the metadata store is PostgreSQL, else this process's memory."""
    shared = settings.shared_state
    if shared.backend != "auto":
        return shared.backend
    if shared.redis_url is not None:
        return "redis"
    if settings.database_store in {"postgres", "postgresql"}:
        return "postgres"
    return "memory"


def build_limit_counters(settings: Settings) -> LimitCounters:
    """The counters ``[shared_state]`` names; Redis and PostgreSQL connect lazily, so a store that is down at
    start-up only makes the limits take their failure behaviour."""
    shared = settings.shared_state
    backend = shared_state_backend(settings)
    if backend == "redis" and shared.redis_url is not None:
        from pyregistry_infrastructure.shared_state.redis_counters import RedisLimitCounters

        _log.info("shared_state.selected", backend="redis", location=mask_url(shared.redis_url))
        return RedisLimitCounters(shared.redis_url, prefix=shared.redis_prefix, timeout_seconds=shared.timeout_seconds)
    if backend == "postgres":
        from pyregistry_infrastructure.shared_state.postgres_counters import PostgresLimitCounters

        url = settings.postgres.connection_url
        _log.info("shared_state.selected", backend="postgres", location=mask_url(url))
        return PostgresLimitCounters(url, timeout_seconds=shared.timeout_seconds)
    return MemoryLimitCounters(max_buckets=settings.rate_limit.max_tracked_clients)
