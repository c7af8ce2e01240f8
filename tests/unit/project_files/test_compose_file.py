"""compose.yaml and the Dockerfile describe the stack the README promises (no Docker engine runs here)."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.required import require

ROOT = Path(__file__).resolve().parents[3]
EXPECTED_HOST_PORTS = {
    "pyregistry": {3000},
    "postgres": {5432},
    "sqlserver": {1433},
    "minio": {9000, 9001},
    "jwks": {8081},
    "redis": {6379},
    "balancer": {3100},
}


@pytest.fixture(autouse=True)
def _away_from_local_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's ./pyregistry.toml must not leak into these tests."""
    monkeypatch.chdir(tmp_path)


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def _host_ports(service: dict[str, Any]) -> set[int]:
    ports = set()
    for mapping in service.get("ports", []):
        host_part = str(mapping).rsplit(":", 1)[0]
        ports.add(int(host_part.rsplit(":", 1)[-1]))
    return ports


def test_compose_names_every_service_with_the_reference_ports() -> None:
    services = _compose()["services"]
    assert set(services) == {
        "pyregistry",
        "postgres",
        "sqlserver",
        "minio",
        "minio-init",
        "jwks",
        "node",
        "balancer",
        "redis",
    }
    for name, ports in EXPECTED_HOST_PORTS.items():
        assert _host_ports(services[name]) == ports, name
    assert all(str(port).startswith("127.0.0.1:") for svc in services.values() for port in svc.get("ports", []))


def test_registry_service_builds_the_dockerfile_and_keeps_data_in_a_volume() -> None:
    compose = _compose()
    registry = compose["services"]["pyregistry"]
    assert registry["build"]["dockerfile"] == "Dockerfile"
    assert (ROOT / registry["build"]["dockerfile"]).is_file()
    assert "pyregistry-data:/data" in registry["volumes"]
    assert "pyregistry-data" in compose["volumes"]
    assert registry["environment"]["BIND_ADDRESS"] == "0.0.0.0:3000"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["pyregistry", "serve"]' in dockerfile
    assert "uv sync --frozen --no-dev" in dockerfile
    assert "WORKDIR /data" in dockerfile


def test_minio_init_creates_the_bucket_with_the_template_credentials() -> None:
    services = _compose()["services"]
    init = services["minio-init"]
    assert init["depends_on"]["minio"]["condition"] == "service_healthy"
    script = " ".join(init["command"])
    assert "mc mb --ignore-existing local/pyregistry" in script
    assert "pyregistry pyregistry123" in script
    minio_env = services["minio"]["environment"]
    assert (minio_env["MINIO_ROOT_USER"], minio_env["MINIO_ROOT_PASSWORD"]) == ("pyregistry", "pyregistry123")


def test_database_credentials_match_the_default_settings() -> None:
    from pyregistry_infrastructure.settings import Settings

    services = _compose()["services"]
    defaults = Settings()
    postgres = services["postgres"]["environment"]
    assert f"{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}@" in defaults.postgres.connection_url
    assert f"sa:{services['sqlserver']['environment']['MSSQL_SA_PASSWORD']}@" in defaults.sql_server.connection_url


def test_the_registry_environment_is_valid_configuration() -> None:
    from pyregistry_infrastructure.config import load_settings

    environment = {key: str(value) for key, value in _compose()["services"]["pyregistry"]["environment"].items()}
    loaded = load_settings(None, environment)
    assert loaded.settings.oidc_issuers[0].jwks_url == "http://jwks:8081/jwks.json"
    assert loaded.sources["oidc_issuers"] == "env:OIDC_ISSUERS"


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode != 0,
    reason="the docker compose plugin is not installed here",
)
def test_docker_compose_config_accepts_the_file() -> None:
    result = subprocess.run(["docker", "compose", "config", "--quiet"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def _dockerfile_copy_sources() -> set[str]:
    sources: set[str] = set()
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words and words[0].upper() == "COPY":
            sources.update(word.rstrip("/") for word in words[1:-1] if not word.startswith("--"))
    return sources


def test_dockerfile_copies_every_path_the_build_needs() -> None:
    needed = {"pyproject.toml", "uv.lock", "packages", "supplied"}
    assert needed <= _dockerfile_copy_sources()
    assert all((ROOT / path).exists() for path in needed)
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert not needed & ignored


@pytest.mark.slow
def test_infrastructure_wheel_bundles_the_supplied_yara_rules(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    require(uv is not None, "uv is not on PATH")
    assert uv is not None
    result = subprocess.run(
        [uv, "build", "--offline", "--wheel", str(ROOT / "packages" / "infrastructure"), "-o", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("pyregistry_infrastructure-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        bundled = {name for name in archive.namelist() if name.startswith("pyregistry_infrastructure/supplied/yara/")}
    expected = {
        f"pyregistry_infrastructure/supplied/yara/{rule.name}" for rule in (ROOT / "supplied/yara").glob("*.yar")
    }
    assert expected
    assert expected <= bundled


def test_the_cluster_profile_runs_three_replicas_on_shared_backends_behind_nginx() -> None:
    from pyregistry_infrastructure.config import load_settings

    services = _compose()["services"]
    node = services["node"]
    assert node["profiles"] == ["cluster"] and services["balancer"]["profiles"] == ["cluster"]
    assert node["deploy"]["replicas"] == 3
    assert "ports" not in node  # reached only through the balancer
    settings = load_settings(None, {key: str(value) for key, value in node["environment"].items()}).settings
    assert (settings.database_store, settings.artifact_storage.opendal.scheme) == ("postgres", "s3")
    assert settings.shared_state.redis_url == "redis://redis:6379/0"
    assert settings.background.executor == "database"
    assert settings.artifact_storage.opendal.options["bucket"] == "pyregistry"
    conf = (ROOT / "compose" / "nginx-cluster.conf").read_text()
    assert "server node:3000" in conf and "proxy_pass http://pyregistry;" in conf
    assert services["balancer"]["volumes"] == ["./compose/nginx-cluster.conf:/etc/nginx/conf.d/default.conf:ro"]
