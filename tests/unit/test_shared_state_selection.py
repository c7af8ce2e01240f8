"""Which store ``[shared_state]`` picks for the limit counters."""

from __future__ import annotations

import pytest

from pyregistry_bootstrap.limits_wiring import build_limit_counters, shared_state_backend
from pyregistry_infrastructure.settings import Settings, SharedStateSettings
from pyregistry_infrastructure.shared_state.memory import MemoryLimitCounters
from pyregistry_infrastructure.shared_state.postgres_counters import PostgresLimitCounters
from pyregistry_infrastructure.shared_state.redis_counters import RedisLimitCounters

REDIS = "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(
    ("database_store", "shared", "expected"),
    [
        ("sqlite", SharedStateSettings(), "memory"),
        ("postgres", SharedStateSettings(), "postgres"),
        ("postgresql", SharedStateSettings(), "postgres"),
        ("sqlite", SharedStateSettings(redis_url=REDIS), "redis"),
        ("postgres", SharedStateSettings(redis_url=REDIS), "redis"),
        ("postgres", SharedStateSettings(backend="memory", redis_url=REDIS), "memory"),
        ("sqlite", SharedStateSettings(backend="postgres"), "postgres"),
    ],
)
def test_auto_prefers_redis_then_a_postgres_metadata_store_then_memory(
    database_store: str, shared: SharedStateSettings, expected: str
) -> None:
    assert shared_state_backend(Settings(database_store=database_store, shared_state=shared)) == expected


def test_each_backend_builds_its_adapter_without_connecting() -> None:
    memory = build_limit_counters(Settings())
    redis_counters = build_limit_counters(Settings(shared_state=SharedStateSettings(redis_url=REDIS)))
    postgres = build_limit_counters(Settings(database_store="postgres"))
    assert isinstance(memory, MemoryLimitCounters)
    assert isinstance(redis_counters, RedisLimitCounters)
    assert isinstance(postgres, PostgresLimitCounters)
    redis_counters.close()
    postgres.close()
