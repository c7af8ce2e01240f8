"""``pyregistry serve`` hands uvicorn the configured protocol and loop and never lets it trust proxy headers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from pyregistry_bootstrap import server
from pyregistry_bootstrap.asgi import CONFIG_ENV
from pyregistry_bootstrap.connection_limits import ConnectionLimits
from pyregistry_bootstrap.http_protocols import RegistryH11Protocol
from pyregistry_bootstrap.server import WORKER_HEALTHCHECK_SECONDS
from pyregistry_bootstrap.wiring import build_runtime
from pyregistry_infrastructure.config import ConfigError, load_settings
from pyregistry_infrastructure.prometheus_metrics import MULTIPROC_ENV


@pytest.mark.parametrize("workers", [1, 3])
def test_uvicorn_gets_http_loop_and_no_proxy_headers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **options: calls.append((app, options)))
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv(MULTIPROC_ENV, "")  # restored (unset) afterwards; run_server sets it for several workers
    environ = {
        "DATABASE_STORE": "memory",
        "DATA_DIR": str(tmp_path / "data"),
        "BLOB_ROOT": str(tmp_path / "blobs"),
        "OPENDAL_ROOT": str(tmp_path / "blobs"),
        "SUPERADMIN_PASSWORD": "admin-password-for-tests",
        "COOKIE_SECRET": "cookie-secret-for-tests",
        "BIND_ADDRESS": "127.0.0.1:3999",
        "PYREGISTRY_WORKERS": str(workers),
        "PYREGISTRY_HTTP": "h11",
        "PYREGISTRY_LOOP": "asyncio",
    }
    config = tmp_path / "pyregistry.toml"
    config.write_text("")
    loaded = load_settings(str(config), environ)
    server.run_server(loaded, build_runtime(loaded.settings, sync_superadmin=False))

    [(app, options)] = calls
    assert options["proxy_headers"] is False
    assert (options["http"].func, options["loop"]) == (RegistryH11Protocol, "asyncio")
    assert options["http"].keywords == {"limits": ConnectionLimits()}
    assert (options["timeout_keep_alive"], options["h11_max_incomplete_event_size"]) == (5, 64 * 1024)
    assert (options["host"], options["port"]) == ("127.0.0.1", 3999)
    if workers == 1:
        assert callable(app) and "workers" not in options
    else:
        assert app == "pyregistry_bootstrap.asgi:app_from_environment"
        assert options["workers"] == workers and options["factory"] is True
        assert os.environ[CONFIG_ENV] == str(config.resolve())
        assert options["timeout_worker_healthcheck"] == WORKER_HEALTHCHECK_SECONDS
        assert os.environ[MULTIPROC_ENV] == str(tmp_path / "data" / "metrics")
        assert (tmp_path / "data" / "metrics").is_dir()


@pytest.mark.parametrize(
    ("store", "configured", "expected"),
    [
        ("sqlite", "0", len(os.sched_getaffinity(0))),
        ("postgres", "0", len(os.sched_getaffinity(0))),
        ("memory", "0", 1),
        ("memory", "3", 3),
        ("sqlite", "1", 1),
    ],
)
def test_workers_default_to_one_per_cpu_except_with_the_memory_store(
    tmp_path: Path, store: str, configured: str, expected: int
) -> None:
    config = tmp_path / "pyregistry.toml"
    config.write_text("")
    environ = {"DATABASE_STORE": store}
    if configured != "0":
        environ["PYREGISTRY_WORKERS"] = configured
    assert server.worker_count(load_settings(str(config), environ).settings) == expected


def test_a_negative_worker_count_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "pyregistry.toml"
    config.write_text("[server]\nworkers = -1\n")
    with pytest.raises(ConfigError, match=r"^key 'server.workers': must be 0 \(one per CPU\) or more, got -1$"):
        load_settings(str(config), {})


@pytest.mark.parametrize("prefix", ["_blobs/", "/_blobs", "/a b/"])
def test_an_accel_redirect_prefix_must_be_a_path_between_slashes(tmp_path: Path, prefix: str) -> None:
    config = tmp_path / "pyregistry.toml"
    config.write_text("")
    message = f"key 'server.accel_redirect_prefix': {prefix!r} must be a path starting and ending with '/'"
    with pytest.raises(ConfigError) as refused:
        load_settings(str(config), {"PYREGISTRY_ACCEL_REDIRECT_PREFIX": prefix})
    assert str(refused.value) == message
