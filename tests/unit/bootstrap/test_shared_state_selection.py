"""Which store ``[shared_state]`` picks for the limit counters."""

from __future__ import annotations

import pytest

from pyregistry_bootstrap.limits_wiring import build_limit_counters, shared_state_backend
from pyregistry_infrastructure.config import load_settings
from pyregistry_infrastructure.config_report import describe_settings
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


def test_config_show_masks_the_redis_password_but_not_the_prefix() -> None:
    loaded = load_settings(None, {"SHARED_STATE_REDIS_URL": "redis://:hunter2@cache:6379/0"})
    shown = {line.key: line.value for line in describe_settings(loaded)}
    assert shown["shared_state.redis_url"] == '"redis://:********@cache:6379/0"'
    assert shown["shared_state.redis_prefix"] == '"pyregistry:limits:"'
