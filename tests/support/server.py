"""Start a real pyregistry server as a subprocess on 127.0.0.1 and drive the CLI against its data."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.registry_admin import create_tenant_in_process, issue_token_in_process

__all__ = ["RunningRegistry", "clean_client_env", "free_port", "pyregistry_exe", "start_registry"]

BIN_DIR = Path(sys.executable).parent
START_SECONDS = 90
"""How long a server may take to answer ``/healthz``: generous, for xdist workers and coverage on a busy machine."""


def pyregistry_exe() -> str:
    return str(BIN_DIR / "pyregistry")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_client_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for pip/uv/twine that ignores this machine's local mirrors and caches. Coverage's subprocess
    start-up (``COVERAGE_PROCESS_CONFIG``) is left out too: clients run none of the measured packages, and tracing
    them only made each pip install or twine upload about a third slower."""
    prefixes = ("PIP_", "UV_", "TWINE_", "COVERAGE_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    env.update(
        {
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_CACHE_DIR": "1",
            "PIP_NO_INPUT": "1",
            "UV_NO_CACHE": "1",
            "UV_NO_CONFIG": "1",
            "PYTHONWARNINGS": "ignore",
        }
    )
    env.update(extra or {})
    return env


@dataclass
class RunningRegistry:
    """A server process plus the directory and environment it runs in."""

    workdir: Path
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    start_seconds: float = START_SECONDS
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.workdir / "server.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def index_url(self, tenant: str, token: str | None = None) -> str:
        auth = f"__token__:{token}@" if token else ""
        return f"http://{auth}127.0.0.1:{self.port}/t/{tenant}/simple/"

    def upload_url(self, tenant: str) -> str:
        return f"{self.base_url}/t/{tenant}/legacy/"

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``pyregistry ARGS`` against the same data directory and settings."""
        result = subprocess.run(
            [pyregistry_exe(), *args], cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=120
        )
        if check and result.returncode != 0:
            raise AssertionError(f"pyregistry {' '.join(args)} failed: {result.stderr}")
        return result

    def create_tenant(self, slug: str, *extra: str) -> None:
        """What ``pyregistry create-tenant --slug SLUG --display-name Slug EXTRA`` does, in this process (the
        options ``--enable-mirroring``, ``--admin-email`` and ``--admin-password``); tests of the command use
        ``cli``."""
        options = list(extra)
        mirroring = "--enable-mirroring" in options
        if mirroring:
            options.remove("--enable-mirroring")
        named = dict(zip(options[::2], options[1::2], strict=True))
        unknown = set(named) - {"--admin-email", "--admin-password"}
        if unknown:
            raise ValueError(f"create_tenant does not pass {sorted(unknown)}: call cli('create-tenant', ...)")
        create_tenant_in_process(
            self.workdir,
            self.env,
            slug,
            admin_email=named.get("--admin-email"),
            admin_password=named.get("--admin-password"),
            mirroring_enabled=mirroring,
        )

    def issue_token(self, tenant: str, *scopes: str, project: str | None = None, name: str = "test") -> str:
        """What ``pyregistry issue-token`` prints (the secret), issued in this process; tests of the command use
        ``cli``."""
        return issue_token_in_process(self.workdir, self.env, tenant, list(scopes), project=project, name=name)

    def start(self) -> RunningRegistry:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [pyregistry_exe(), "serve"], cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + self.start_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()  # never leave a server that did not answer running after the test
        raise RuntimeError(f"server did not start within {self.start_seconds:g} s:\n{self.log_path.read_text()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None


def start_registry(
    workdir: Path, env: Mapping[str, str] | None = None, start_seconds: float = START_SECONDS
) -> RunningRegistry:
    """Start a server with SQLite + filesystem storage under ``workdir/.pyregistry``."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    full_env = {key: value for key, value in os.environ.items() if key != "PYREGISTRY_CONFIG"}
    full_env.update(
        {
            "BIND_ADDRESS": f"127.0.0.1:{port}",
            "SUPERADMIN_PASSWORD": "admin-password-for-tests",
            "COOKIE_SECRET": "cookie-secret-for-tests-cookie-secret-for-tests",
            "RATE_LIMIT_ENABLED": "false",
            "PYREGISTRY_WORKERS": "1",
            "PYPI_MIRROR_UPDATE_ENABLED": "false",
        }
    )
    full_env.update(env or {})
    return RunningRegistry(workdir=workdir, port=port, env=full_env, start_seconds=start_seconds).start()
