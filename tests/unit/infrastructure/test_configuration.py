"""Configuration: every reference setting and variable, errors that name the key, masking, init-config round trip."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec
import pytest
import tomlkit
from click.testing import CliRunner

from pyregistry_bootstrap.cli import main
from pyregistry_infrastructure.config import ENVIRONMENT_KEYS, ConfigError, load_settings
from pyregistry_infrastructure.config_report import MASK, describe_settings, mask_value
from pyregistry_infrastructure.logging_setup import parse_filter
from pyregistry_infrastructure.settings import Settings

# The "Useful environment variables" list of the reference product, verbatim.
REFERENCE_VARIABLES = """
BIND_ADDRESS BLOB_ROOT SUPERADMIN_EMAIL SUPERADMIN_PASSWORD COOKIE_SECRET DATABASE_STORE SQLITE_PATH
SQLITE_DATABASE_PATH DATABASE_URL POSTGRES_URL POSTGRES_MAX_CONNECTIONS POSTGRES_MIN_CONNECTIONS
POSTGRES_ACQUIRE_TIMEOUT_SECONDS SQL_SERVER_URL MSSQL_URL SQL_SERVER_MAX_CONNECTIONS SQL_SERVER_MIN_CONNECTIONS
SQL_SERVER_ACQUIRE_TIMEOUT_SECONDS ARTIFACT_STORAGE_BACKEND OPENDAL_SCHEME OPENDAL_OPTIONS OPENDAL_ROOT
OPENDAL_BUCKET OPENDAL_ENDPOINT OPENDAL_REGION OPENDAL_ACCESS_KEY_ID OPENDAL_SECRET_ACCESS_KEY OPENDAL_SESSION_TOKEN
OPENDAL_DISABLE_CONFIG_LOAD OPENDAL_DISABLE_EC2_METADATA OPENDAL_ENABLE_VIRTUAL_HOST_STYLE OPENDAL_ALLOW_ANONYMOUS
PYPI_BASE_URL PYPI_URL PYPI_MIRROR_DOWNLOAD_CONCURRENCY PYPI_ARTIFACT_DOWNLOAD_MAX_ATTEMPTS
PYPI_ARTIFACT_DOWNLOAD_INITIAL_BACKOFF_MILLIS PYPI_MIRROR_HTTP_TIMEOUT_SECONDS PYPI_MIRROR_METADATA_MAX_BYTES
PYPI_MIRROR_ARTIFACT_MAX_BYTES PYPI_MIRROR_UPDATE_ENABLED PYPI_MIRROR_UPDATE_INTERVAL_SECONDS
PYPI_MIRROR_UPDATE_ON_STARTUP YARA_RULES_PATH VULNERABILITY_WEBHOOK_URL VULNERABILITY_WEBHOOK_USERNAME
VULNERABILITY_WEBHOOK_TIMEOUT_SECONDS PACKAGE_PUBLISH_WEBHOOK_URL PACKAGE_PUBLISH_WEBHOOK_USERNAME
PACKAGE_PUBLISH_WEBHOOK_TIMEOUT_SECONDS RATE_LIMIT_ENABLED RATE_LIMIT_REQUESTS_PER_MINUTE RATE_LIMIT_BURST
RATE_LIMIT_MAX_TRACKED_CLIENTS RATE_LIMIT_TRUST_PROXY_HEADERS NETWORK_SOURCE_WEB_UI_ALLOWED_CIDRS
NETWORK_SOURCE_API_ALLOWED_CIDRS NETWORK_SOURCE_TRUST_PROXY_HEADERS WEB_UI_SHOW_INDEX_STATS
VALIDATION_DISTRIBUTION_PARALLELISM LOG_FILTER LOG_MODULE_PATH LOG_TARGET LOG_TIMESTAMP OIDC_ISSUERS
""".split()  # noqa: SIM905 - kept as the reference prints it

VALID_SAMPLES = {
    "str": "value",
    "int": "7",
    "float": "2.5",
    "bool": "false",
    "list": "10.0.0.0/8, 192.168.0.0/16",
}
SPECIAL_SAMPLES = {
    "PYREGISTRY_ACCEL_REDIRECT_PREFIX": "/_blobs/",
    "BIND_ADDRESS": "0.0.0.0:8080",
    "METRICS_TOKEN": "scrape-token-0123456789",
    "DATABASE_STORE": "memory",
    "SUPERADMIN_EMAIL": "root@example.com",
    "ARTIFACT_STORAGE_BACKEND": "opendal",
    "OPENDAL_SCHEME": "fs",
    "OPENDAL_OPTIONS": '{"atomic_write_dir": "/srv/tmp"}',
    "OPENDAL_ENDPOINT": "http://127.0.0.1:9000",
    "PYPI_BASE_URL": "https://mirror.example/",
    "PYPI_URL": "https://mirror.example/",
    "PYPI_CA_BUNDLE": ".",
    "PYPI_PROXY_URL": "http://proxy.example:3128",
    "DATABASE_URL": "postgres://u:p@db:5432/x",
    "POSTGRES_URL": "postgres://u:p@db:5432/x",
    "SQL_SERVER_URL": "sqlserver://sa:p@db:1433/x",
    "MSSQL_URL": "sqlserver://sa:p@db:1433/x",
    "VULNERABILITY_WEBHOOK_URL": "https://hooks.example/v",
    "PACKAGE_PUBLISH_WEBHOOK_URL": "https://hooks.example/p",
    "LOG_FILTER": "debug,uvicorn=warning",
    "LOG_TIMESTAMP": "millis",
    "LOG_FORMAT": "json",
    "PYREGISTRY_HTTP": "h11",
    "PYREGISTRY_LOOP": "asyncio",
    "SHARED_STATE_BACKEND": "memory",
    "BACKGROUND_EXECUTOR": "in-process",
    "SHARED_STATE_REDIS_URL": "redis://:secret@cache:6379/0",
    "OIDC_ISSUERS": '[{"provider": "gitlab", "issuer": "https://gitlab.example", "jwks_url": "https://gitlab.example/jwks"}]',
    "WEB_UI_OIDC_PROVIDERS": '[{"name": "corp", "issuer": "https://sso.example", "client_id": "pyregistry"}]',
}
COMPANIONS = {"WEB_UI_LOCAL_PASSWORDS": {"WEB_UI_OIDC_PROVIDERS": SPECIAL_SAMPLES["WEB_UI_OIDC_PROVIDERS"]}}
"""Variables that only make sense beside another (no local passwords needs a provider to sign in with)."""


@pytest.fixture(autouse=True)
def _away_from_local_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's ./pyregistry.toml must not leak into these tests."""
    monkeypatch.chdir(tmp_path)


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "pyregistry.toml"
    path.write_text(text)
    return str(path)


def _leaf_keys(value: Any, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        keys: set[str] = set()
        for key, child in value.items():
            keys |= (
                _leaf_keys(child, f"{prefix}{key}.") if isinstance(child, dict) and key != "options" else {prefix + key}
            )
        return keys
    return set()


def test_every_reference_variable_is_supported() -> None:
    assert set(REFERENCE_VARIABLES) <= set(ENVIRONMENT_KEYS)


@pytest.mark.parametrize("variable", sorted(ENVIRONMENT_KEYS))
def test_each_variable_takes_effect_and_is_reported_as_its_source(variable: str) -> None:
    dotted, kind = ENVIRONMENT_KEYS[variable]
    default: Any = msgspec.to_builtins(Settings())
    for part in dotted.split("."):
        default = default.get(part) if isinstance(default, dict) else None
    raw = SPECIAL_SAMPLES.get(variable, VALID_SAMPLES.get(kind, "value"))
    if kind == "bool":
        raw = "false" if default else "true"
    loaded = load_settings(None, {variable: raw, **COMPANIONS.get(variable, {})})
    assert loaded.sources[dotted] == f"env:{variable}"
    current: Any = msgspec.to_builtins(loaded.settings)
    for part in ("blob_root" if variable == "OPENDAL_ROOT" else dotted).split("."):
        current = current[part]
    assert current != default or variable in {"ARTIFACT_STORAGE_BACKEND", "OPENDAL_SCHEME"}


def test_the_first_name_of_an_alias_pair_wins() -> None:
    loaded = load_settings(None, {"PYPI_BASE_URL": "https://a.example", "PYPI_URL": "https://b.example"})
    assert loaded.settings.pypi.base_url == "https://a.example"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[rate_limit]\nbogus = 1\n", "unknown key 'rate_limit.bogus'"),
        ("bogus = 1\n", "unknown key 'bogus'"),
        ("[artifact_storage.opendal]\nflavour = 's3'\n", "unknown key 'artifact_storage.opendal.flavour'"),
        ("[rate_limit]\nburst = 'many'\n", "key 'rate_limit.burst': expected int, got str"),
        ("[network_source]\napi_allowed_cidrs = ['10.0.0.0/33']\n", "'10.0.0.0/33' is not a CIDR range"),
        ("[pypi]\nbase_url = 'pypi.org'\n", "key 'pypi.base_url'"),
        ("[pypi]\nproxy_url = 'proxy:3128'\n", "key 'pypi.proxy_url': 'proxy:3128' is not a valid http/https URL"),
        ("[pypi]\nca_bundle = '/no/such/ca.pem'\n", "key 'pypi.ca_bundle': '/no/such/ca.pem' does not exist"),
        ("[security.vulnerability_webhook]\nurl = 'discord'\n", "key 'security.vulnerability_webhook.url'"),
        ("[[oidc_issuers]]\nprovider = 'github'\nissuer = 'https://x'\n", "missing key 'oidc_issuers[0].jwks_url'"),
        (
            "[[oidc_issuers]]\nprovider = 'github'\nissuer = 'https://x'\njwks_url = 'https://x/j'\nextra = 1\n",
            "unknown key 'oidc_issuers[0].extra'",
        ),
        ("[postgres]\nconnection_url = 'mysql://x/y'\n", "key 'postgres.connection_url'"),
        ("bind_address = 'localhost'\n", "key 'bind_address'"),
        ("database_store = 'oracle'\n", "key 'database_store'"),
        ("[logging]\nfilter = 'loud'\n", "key 'logging.filter': 'loud' is not one of"),
        ("[logging]\nformat = 'xml'\n", "key 'logging.format'"),
        ("[server]\nhttp = 'h2'\n", "key 'server.http': 'h2' is not one of auto, httptools, h11"),
        ("[server]\nloop = 'trio'\n", "key 'server.loop': 'trio' is not one of auto, uvloop, asyncio"),
        ("[artifact_storage.opendal]\nscheme = 's3'\n", "options.bucket': required"),
        ("[validation]\ndistribution_parallelism = 0\n", "must be greater than zero"),
        (
            "[shared_state]\nbackend = 'memcached'\n",
            "key 'shared_state.backend': 'memcached' is not one of auto, memory, redis, postgres",
        ),
        ("[shared_state]\nbackend = 'redis'\n", "key 'shared_state.redis_url': required when shared_state.backend"),
        ("[shared_state]\nredis_url = 'http://cache:6379'\n", "key 'shared_state.redis_url': 'http://cache:6379'"),
        ("[shared_state]\ntimeout_seconds = 0\n", "key 'shared_state': timeout_seconds and"),
        ("this is = not toml [\n", "not valid TOML"),
        (
            "[web_ui]\nlocal_passwords = false\n",
            "key 'web_ui.local_passwords': false needs at least one [[web_ui.oidc_providers]] to sign in with",
        ),
        (
            "[[web_ui.oidc_providers]]\nname = 'Corp SSO'\nissuer = 'https://sso.example'\nclient_id = 'p'\n",
            "key 'web_ui.oidc_providers[0].name': 'Corp SSO' must be unique, lower-case letters, digits and -",
        ),
        (
            "[[web_ui.oidc_providers]]\nname = 'corp'\nissuer = 'sso.example'\nclient_id = 'p'\n",
            "key 'web_ui.oidc_providers[0].issuer': 'sso.example' is not a valid http/https URL",
        ),
        (
            "[[web_ui.oidc_providers]]\nname = 'corp'\nissuer = 'https://sso.example'\nclient_id = 'p'\n"
            "group_roles = [{ group = 'g', tenant = 'acme', role = 'owner' }]\n",
            "key 'web_ui.oidc_providers[0].group_roles[0].role': 'owner' is not admin, maintainer or auditor",
        ),
    ],
)
def test_file_errors_name_the_key_and_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(_write(tmp_path, text), {})


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"RATE_LIMIT_BURST": "lots"}, "RATE_LIMIT_BURST='lots' must be a whole number"),
        ({"POSTGRES_ACQUIRE_TIMEOUT_SECONDS": "soon"}, "must be a number"),
        ({"RATE_LIMIT_ENABLED": "maybe"}, "must be true or false"),
        ({"OIDC_ISSUERS": "[oops"}, "OIDC_ISSUERS is not valid JSON"),
        ({"NETWORK_SOURCE_WEB_UI_ALLOWED_CIDRS": "10.0.0.0/8,intranet"}, "'intranet' is not a CIDR range"),
        ({"PYREGISTRY_LOOP": "uv"}, "key 'server.loop': 'uv' is not one of auto, uvloop, asyncio"),
    ],
)
def test_environment_errors_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(None, environ)


def test_config_paths_must_be_toml_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"must end in \.toml"):
        load_settings(str(tmp_path / "pyregistry.yaml"), {})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(str(tmp_path / "missing.toml"), {})


def test_log_filters() -> None:
    assert parse_filter("warn,pyregistry_web=debug, uvicorn::error=error") == (
        30,
        {"pyregistry_web": 10, "uvicorn.error": 40},
    )
    with pytest.raises(ValueError, match="'chatty'"):
        parse_filter("chatty")


@pytest.mark.parametrize("storage", ["fs", "minio"])
def test_init_config_writes_a_complete_file_that_loads_back(tmp_path: Path, storage: str) -> None:
    target = tmp_path / "conf" / "pyregistry.toml"
    result = CliRunner().invoke(main, ["init-config", "--path", str(target), "--storage", storage])
    assert result.exit_code == 0, result.output
    assert target.stat().st_mode & 0o777 == 0o600
    text = target.read_text()
    loaded = load_settings(str(target), {})
    assert loaded.settings.superadmin_password and len(loaded.settings.cookie_secret or "") >= 32
    expected = _leaf_keys(msgspec.to_builtins(Settings()))
    written = _leaf_keys(tomlkit.parse(text).unwrap())
    commented = {key for key in expected if f"# {key.rsplit('.', 1)[-1]} = " in text or f"# [[{key}]]" in text}
    assert expected <= written | commented, sorted(expected - written - commented)
    assert text.count("#") > 20, "the file explains its sections"
    scheme = loaded.settings.artifact_storage.opendal
    if storage == "minio":
        assert (scheme.scheme, scheme.options["bucket"], scheme.options["endpoint"]) == (
            "s3",
            "pyregistry",
            "http://127.0.0.1:9000",
        )
    else:
        assert (scheme.scheme, scheme.options) == ("fs", {})
        assert loaded.settings.blob_root == str(tmp_path / "conf" / ".pyregistry" / "blobs")
    assert loaded.settings.oidc_issuers == []
    again = CliRunner().invoke(main, ["init-config", "--path", str(target)])
    assert again.exit_code == 1 and "--force" in again.output
    wrong = CliRunner().invoke(main, ["init-config", "--path", str(tmp_path / "conf.ini")])
    assert wrong.exit_code == 1 and "must end in .toml" in wrong.output


def test_init_config_trusts_the_development_oidc_issuer_only_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "dev.toml"
    result = CliRunner().invoke(main, ["init-config", "--path", str(target), "--dev-oidc-issuer"])
    assert result.exit_code == 0, result.output
    [issuer] = load_settings(str(target), {}).settings.oidc_issuers
    assert (issuer.provider, issuer.issuer, issuer.jwks_url) == (
        "github",
        "https://issuer.pyregistry.local",
        "http://127.0.0.1:8081/jwks.json",
    )


def test_config_show_masks_secrets_and_names_sources(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'superadmin_password = "file-password-123"\n'
        'cookie_secret = "file-cookie-secret"\n'
        "[artifact_storage.opendal]\nscheme = 's3'\n"
        "[artifact_storage.opendal.options]\nbucket = 'b'\nsecret_access_key = 'file-s3-secret'\n"
        "[security.package_publish_webhook]\nurl = 'https://hooks.example/secret-path'\n",
    )
    environ = {"DATABASE_URL": "postgres://app:db-password@db:5432/reg", "RATE_LIMIT_BURST": "9"}
    result = CliRunner(env=environ).invoke(main, ["--config", path, "config", "show"])
    assert result.exit_code == 0, result.output
    for secret in ("file-password-123", "file-cookie-secret", "file-s3-secret", "secret-path", "db-password"):
        assert secret not in result.output
    lines = {line.split(" = ")[0]: line for line in result.output.splitlines() if " = " in line}
    assert lines["superadmin_password"].endswith(f"# file:{path}") and MASK in lines["superadmin_password"]
    assert "postgres://app:********@db:5432/reg" in lines["postgres.connection_url"]
    assert lines["postgres.connection_url"].endswith("# env:DATABASE_URL")
    assert lines["rate_limit.burst"].split("#")[0].strip().endswith("9")
    assert lines["rate_limit.requests_per_minute"].endswith("# default")
    assert MASK in lines["security.package_publish_webhook.url"]
    assert MASK in lines["artifact_storage.opendal.options.secret_access_key"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u@h/db?password=leak", f"postgresql://u@h/db?password={MASK}"),
        (
            "postgresql://u:leak@[::1]:5432/db?sslmode=require&sslpassword=leak&application_name=reg",
            f"postgresql://u:{MASK}@[::1]:5432/db?sslmode=require&sslpassword={MASK}&application_name=reg",
        ),
        (
            "sqlserver://sa@db:1433/x?trust_server_certificate=true&Client_Secret=leak&access_token=leak&api_key=leak",
            f"sqlserver://sa@db:1433/x?trust_server_certificate=true&Client_Secret={MASK}&access_token={MASK}"
            f"&api_key={MASK}",
        ),
        ("postgresql://u@h/db?PASS%57ORD=leak&flag", f"postgresql://u@h/db?PASS%57ORD={MASK}&flag"),
        ("postgres://h/db?sslmode=verify-full", "postgres://h/db?sslmode=verify-full"),
    ],
)
def test_connection_urls_are_shown_without_passwords_anywhere(url: str, shown: str) -> None:
    assert mask_value("postgres.connection_url", url) == shown


def test_config_show_masks_a_password_given_in_the_query_string() -> None:
    environ = {"DATABASE_URL": "postgresql://app@db:5432/reg?sslmode=require&password=query-leak"}
    result = CliRunner(env=environ).invoke(main, ["config", "show"])
    assert result.exit_code == 0, result.output
    assert "query-leak" not in result.output
    assert f"postgresql://app@db:5432/reg?sslmode=require&password={MASK}" in result.output


def test_describe_settings_covers_every_setting() -> None:
    loaded = load_settings(None, {})
    keys = {line.key for line in describe_settings(loaded)}
    assert _leaf_keys(msgspec.to_builtins(Settings())) - {"artifact_storage.opendal.options"} <= keys
    assert all(line.source == "default" for line in describe_settings(loaded))
