"""Loading settings: TOML file (tomlkit), then environment variables, then checks."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import msgspec

from pyregistry_infrastructure.log_filter import parse_filter
from pyregistry_infrastructure.settings import Settings

__all__ = [
    "ENVIRONMENT_KEYS",
    "ConfigError",
    "GeneratedSecrets",
    "LoadedSettings",
    "ensure_generated_secrets",
    "load_settings",
    "resolve_config_path",
    "source_of",
]


LOG_FORMATS = ("console", "json")
LOG_TIMESTAMPS = ("off", "seconds", "millis", "micros", "nanos")
SERVER_HTTP = ("auto", "httptools", "h11")
SERVER_LOOPS = ("auto", "uvloop", "asyncio")


class ConfigError(Exception):
    """The configuration is unusable; the message names the key and the problem."""


# environment variable -> (dotted key, type); the first name of a pair wins when both are set
ENVIRONMENT_KEYS: dict[str, tuple[str, str]] = {
    "BIND_ADDRESS": ("bind_address", "str"),
    "BLOB_ROOT": ("blob_root", "str"),
    "SUPERADMIN_EMAIL": ("superadmin_email", "str"),
    "SUPERADMIN_PASSWORD": ("superadmin_password", "str"),
    "COOKIE_SECRET": ("cookie_secret", "str"),
    "DATABASE_STORE": ("database_store", "str"),
    "DATA_DIR": ("data_dir", "str"),
    "SQLITE_PATH": ("sqlite.path", "str"),
    "SQLITE_DATABASE_PATH": ("sqlite.path", "str"),
    "DATABASE_URL": ("postgres.connection_url", "str"),
    "POSTGRES_URL": ("postgres.connection_url", "str"),
    "POSTGRES_MAX_CONNECTIONS": ("postgres.max_connections", "int"),
    "POSTGRES_MIN_CONNECTIONS": ("postgres.min_connections", "int"),
    "POSTGRES_ACQUIRE_TIMEOUT_SECONDS": ("postgres.acquire_timeout_seconds", "float"),
    "POSTGRES_LISTEN_FOR_CHANGES": ("postgres.listen_for_changes", "bool"),
    "SQL_SERVER_URL": ("sql_server.connection_url", "str"),
    "MSSQL_URL": ("sql_server.connection_url", "str"),
    "SQL_SERVER_MAX_CONNECTIONS": ("sql_server.max_connections", "int"),
    "SQL_SERVER_MIN_CONNECTIONS": ("sql_server.min_connections", "int"),
    "SQL_SERVER_ACQUIRE_TIMEOUT_SECONDS": ("sql_server.acquire_timeout_seconds", "float"),
    "ARTIFACT_STORAGE_BACKEND": ("artifact_storage.backend", "str"),
    "ARTIFACT_STORAGE_PRESIGNED_REDIRECTS": ("artifact_storage.presigned_redirects", "bool"),
    "OPENDAL_SCHEME": ("artifact_storage.opendal.scheme", "str"),
    "OPENDAL_OPTIONS": ("artifact_storage.opendal.options", "json"),
    "OPENDAL_ROOT": ("artifact_storage.opendal.options.root", "str"),
    "OPENDAL_BUCKET": ("artifact_storage.opendal.options.bucket", "str"),
    "OPENDAL_ENDPOINT": ("artifact_storage.opendal.options.endpoint", "str"),
    "OPENDAL_REGION": ("artifact_storage.opendal.options.region", "str"),
    "OPENDAL_ACCESS_KEY_ID": ("artifact_storage.opendal.options.access_key_id", "str"),
    "OPENDAL_SECRET_ACCESS_KEY": ("artifact_storage.opendal.options.secret_access_key", "str"),
    "OPENDAL_SESSION_TOKEN": ("artifact_storage.opendal.options.session_token", "str"),
    "OPENDAL_DISABLE_CONFIG_LOAD": ("artifact_storage.opendal.options.disable_config_load", "str"),
    "OPENDAL_DISABLE_EC2_METADATA": ("artifact_storage.opendal.options.disable_ec2_metadata", "str"),
    "OPENDAL_ENABLE_VIRTUAL_HOST_STYLE": ("artifact_storage.opendal.options.enable_virtual_host_style", "str"),
    "OPENDAL_ALLOW_ANONYMOUS": ("artifact_storage.opendal.options.allow_anonymous", "str"),
    "PYPI_BASE_URL": ("pypi.base_url", "str"),
    "PYPI_URL": ("pypi.base_url", "str"),
    "PYPI_MIRROR_DOWNLOAD_CONCURRENCY": ("pypi.mirror_download_concurrency", "int"),
    "PYPI_MIRROR_EAGER_DOWNLOAD_PERCENT": ("pypi.mirror_eager_download_percent", "int"),
    "PYPI_ARTIFACT_DOWNLOAD_MAX_ATTEMPTS": ("pypi.artifact_download_max_attempts", "int"),
    "PYPI_ARTIFACT_DOWNLOAD_INITIAL_BACKOFF_MILLIS": ("pypi.artifact_download_initial_backoff_millis", "int"),
    "PYPI_MIRROR_HTTP_TIMEOUT_SECONDS": ("pypi.mirror_http_timeout_seconds", "float"),
    "PYPI_MIRROR_METADATA_MAX_BYTES": ("pypi.mirror_metadata_max_bytes", "int"),
    "PYPI_MIRROR_ARTIFACT_MAX_BYTES": ("pypi.mirror_artifact_max_bytes", "int"),
    "PYPI_MIRROR_UPDATE_ENABLED": ("pypi.mirror_update_enabled", "bool"),
    "PYPI_MIRROR_UPDATE_INTERVAL_SECONDS": ("pypi.mirror_update_interval_seconds", "int"),
    "PYPI_MIRROR_UPDATE_ON_STARTUP": ("pypi.mirror_update_on_startup", "bool"),
    "PYPI_FILE_HOSTS": ("pypi.file_hosts", "list"),
    "PYPI_CA_BUNDLE": ("pypi.ca_bundle", "str"),
    "PYPI_PROXY_URL": ("pypi.proxy_url", "str"),
    "PYPI_MIRROR_VERIFY_WHOLE_MAX_BYTES": ("pypi.mirror_verify_whole_max_bytes", "int"),
    "YARA_RULES_PATH": ("security.yara_rules_path", "str"),
    "FOXGUARD_PATH": ("security.foxguard_path", "str"),
    "ADVISORY_DB_PATH": ("security.advisory_db_path", "str"),
    "MIRROR_SCAN_ENABLED": ("security.mirror_scan_enabled", "bool"),
    "MIRROR_BLOCK_SEVERITY": ("security.mirror_block_severity", "str"),
    "POLICY_MIN_RELEASE_AGE": ("policy.min_release_age", "str"),
    "POLICY_COOLDOWN_UNKNOWN_UPLOAD_TIME": ("policy.cooldown_unknown_upload_time", "str"),
    "POLICY_VULNERABILITY_ACTION": ("policy.vulnerability_action", "str"),
    "POLICY_VULNERABILITY_SEVERITY": ("policy.vulnerability_severity", "str"),
    "MIRROR_PROVENANCE_ENABLED": ("security.mirror_provenance_enabled", "bool"),
    "PROVENANCE_CONTINUITY": ("security.provenance_continuity", "bool"),
    "VULNERABILITY_WEBHOOK_URL": ("security.vulnerability_webhook.url", "str"),
    "VULNERABILITY_WEBHOOK_USERNAME": ("security.vulnerability_webhook.username", "str"),
    "VULNERABILITY_WEBHOOK_TIMEOUT_SECONDS": ("security.vulnerability_webhook.timeout_seconds", "float"),
    "PACKAGE_PUBLISH_WEBHOOK_URL": ("security.package_publish_webhook.url", "str"),
    "PACKAGE_PUBLISH_WEBHOOK_USERNAME": ("security.package_publish_webhook.username", "str"),
    "PACKAGE_PUBLISH_WEBHOOK_TIMEOUT_SECONDS": ("security.package_publish_webhook.timeout_seconds", "float"),
    "RATE_LIMIT_ENABLED": ("rate_limit.enabled", "bool"),
    "RATE_LIMIT_REQUESTS_PER_MINUTE": ("rate_limit.requests_per_minute", "int"),
    "RATE_LIMIT_BURST": ("rate_limit.burst", "int"),
    "RATE_LIMIT_MAX_TRACKED_CLIENTS": ("rate_limit.max_tracked_clients", "int"),
    "RATE_LIMIT_TRUST_PROXY_HEADERS": ("rate_limit.trust_proxy_headers", "bool"),
    "RATE_LIMIT_COUNT_SUCCESSFUL_REQUESTS": ("rate_limit.count_successful_requests", "bool"),
    "NETWORK_SOURCE_WEB_UI_ALLOWED_CIDRS": ("network_source.web_ui_allowed_cidrs", "list"),
    "NETWORK_SOURCE_API_ALLOWED_CIDRS": ("network_source.api_allowed_cidrs", "list"),
    "NETWORK_SOURCE_TRUST_PROXY_HEADERS": ("network_source.trust_proxy_headers", "bool"),
    "SHARED_STATE_BACKEND": ("shared_state.backend", "str"),
    "SHARED_STATE_REDIS_URL": ("shared_state.redis_url", "str"),
    "SHARED_STATE_REDIS_PREFIX": ("shared_state.redis_prefix", "str"),
    "SHARED_STATE_TIMEOUT_SECONDS": ("shared_state.timeout_seconds", "float"),
    "BACKGROUND_EXECUTOR": ("background.executor", "str"),
    "BACKGROUND_WORKERS": ("background.workers", "int"),
    "BACKGROUND_POLL_SECONDS": ("background.poll_seconds", "float"),
    "BACKGROUND_LEASE_SECONDS": ("background.lease_seconds", "float"),
    "BACKGROUND_RETRY_BACKOFF_SECONDS": ("background.retry_backoff_seconds", "float"),
    "WEB_UI_SHOW_INDEX_STATS": ("web_ui.show_index_stats", "bool"),
    "WEB_UI_SECURE_COOKIES": ("web_ui.secure_cookies", "bool"),
    "WEB_UI_LOCAL_PASSWORDS": ("web_ui.local_passwords", "bool"),
    "WEB_UI_OIDC_PROVIDERS": ("web_ui.oidc_providers", "json"),
    "VALIDATION_DISTRIBUTION_PARALLELISM": ("validation.distribution_parallelism", "int"),
    "LOG_FILTER": ("logging.filter", "str"),
    "LOG_MODULE_PATH": ("logging.module_path", "bool"),
    "LOG_TARGET": ("logging.target", "bool"),
    "LOG_TIMESTAMP": ("logging.timestamp", "str"),
    "LOG_FORMAT": ("logging.format", "str"),
    "OIDC_ISSUERS": ("oidc_issuers", "json"),
    "METRICS_ENABLED": ("metrics.enabled", "bool"),
    "METRICS_TOKEN": ("metrics.token", "str"),
    "TRACING_ENABLED": ("tracing.enabled", "bool"),
    "PYREGISTRY_WORKERS": ("server.workers", "int"),
    "PYREGISTRY_ACCEL_REDIRECT_PREFIX": ("server.accel_redirect_prefix", "str"),
    "PYREGISTRY_HTTP": ("server.http", "str"),
    "PYREGISTRY_LOOP": ("server.loop", "str"),
    "PYREGISTRY_MAX_UPLOAD_BYTES": ("server.max_upload_bytes", "int"),
    "PYREGISTRY_MAX_REQUEST_HEAD_BYTES": ("server.max_request_head_bytes", "int"),
    "PYREGISTRY_REQUEST_HEAD_TIMEOUT_SECONDS": ("server.request_head_timeout_seconds", "int"),
    "PYREGISTRY_KEEP_ALIVE_TIMEOUT_SECONDS": ("server.keep_alive_timeout_seconds", "int"),
    "PYREGISTRY_MAX_CONNECTIONS": ("server.max_connections", "int"),
}
_FIRST_WINS = {
    "SQLITE_DATABASE_PATH": "SQLITE_PATH",
    "POSTGRES_URL": "DATABASE_URL",
    "MSSQL_URL": "SQL_SERVER_URL",
    "PYPI_URL": "PYPI_BASE_URL",
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def resolve_config_path(explicit: str | None, cwd: Path | None = None) -> Path | None:
    """``--config`` when given (must end in ``.toml`` and exist), else ``./pyregistry.toml`` if present."""
    if explicit:
        path = Path(explicit)
        if path.suffix != ".toml":
            raise ConfigError(f"config path {explicit!r} must end in .toml: only TOML configuration is supported")
        if not path.is_file():
            raise ConfigError(f"config file {explicit!r} does not exist")
        return path
    default = (cwd or Path.cwd()) / "pyregistry.toml"
    return default if default.is_file() else None


def _convert_env(name: str, raw: str, kind: str) -> Any:
    if kind == "str":
        return raw
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"environment variable {name}={raw!r} must be a whole number") from None
    if kind == "float":
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"environment variable {name}={raw!r} must be a number") from None
    if kind == "bool":
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(f"environment variable {name}={raw!r} must be true or false")
    if kind == "list":
        return [part.strip() for part in raw.split(",") if part.strip()]
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"environment variable {name} is not valid JSON: {exc}") from None


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def _environment_overrides(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    data: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, (dotted, kind) in ENVIRONMENT_KEYS.items():
        if name not in environ:
            continue
        preferred = _FIRST_WINS.get(name)
        if preferred is not None and preferred in environ:
            continue
        _set_dotted(data, dotted, _convert_env(name, environ[name], kind))
        sources[dotted] = f"env:{name}"
    return data, sources


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and key != "options":
            flat.update(_flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


class LoadedSettings(msgspec.Struct, frozen=True):
    """Settings and where each explicitly set key came from (file or env)."""

    settings: Settings
    path: Path | None
    sources: dict[str, str]


def load_settings(explicit_path: str | None = None, environ: Mapping[str, str] | None = None) -> LoadedSettings:
    """Read the config file (if any), apply environment overrides, validate, and return the result."""
    environ = os.environ if environ is None else environ
    path = resolve_config_path(explicit_path)
    file_data = _read_toml(path) if path is not None else {}
    sources = {key: f"file:{path}" for key in _flatten(file_data)}
    env_data, env_sources = _environment_overrides(environ)
    sources.update(env_sources)
    merged = _merge(file_data, env_data)
    try:
        settings = msgspec.convert(merged, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path or 'configuration'}: {_explain(exc)}") from None
    _validate(settings)
    _settle_storage_root(settings, sources)
    _resolve_paths(settings, sources, path)
    return LoadedSettings(settings=settings, path=path, sources=sources)


_OPTIONS_KEY = "artifact_storage.opendal.options"
_PATH_KEYS = ("data_dir", "blob_root", "sqlite.path")


def source_of(key: str, sources: Mapping[str, str]) -> str:
    """Where ``key`` (or the table that holds it) was set: ``file:...``, ``env:NAME`` or ``default``."""
    candidate = key
    while candidate:
        if candidate in sources:
            return sources[candidate]
        candidate = candidate.rpartition(".")[0]
    return "default"


def _settle_storage_root(settings: Settings, sources: dict[str, str]) -> None:
    """Make ``blob_root`` the one root of filesystem storage: an ``options.root`` moves into it, and two different
    roots are refused rather than one silently winning."""
    opendal = settings.artifact_storage.opendal
    root = opendal.options.get("root")
    if opendal.scheme != "fs" or root is None:
        return
    if "blob_root" in sources and root != settings.blob_root:
        raise ConfigError(
            f"key '{_OPTIONS_KEY}.root' ({root!r}, {source_of(_OPTIONS_KEY + '.root', sources)}) and key "
            f"'blob_root' ({settings.blob_root!r}, {sources['blob_root']}) name different storage roots; set only "
            "blob_root (BLOB_ROOT)"
        )
    sources["blob_root"] = source_of(_OPTIONS_KEY + ".root", sources)
    settings.blob_root = root
    opendal.options = {key: value for key, value in opendal.options.items() if key != "root"}


def _resolve_paths(settings: Settings, sources: dict[str, str], config_path: Path | None) -> None:
    """Make the data paths absolute: relative ones from the config file (and defaults, when there is a file) are
    taken from the file's directory, relative ones from the environment from the working directory."""
    config_dir = config_path.resolve().parent if config_path is not None else None
    for key in _PATH_KEYS:
        section, _, name = key.rpartition(".")
        holder = getattr(settings, section) if section else settings
        value = getattr(holder, name)
        if "\x00" in value:
            raise ConfigError(f"key {key!r} ({source_of(key, sources)}): a path cannot contain a NUL character")
        if value == ":memory:" or Path(value).is_absolute():
            continue
        from_env = source_of(key, sources).startswith("env:")
        base = Path.cwd() if from_env or config_dir is None else config_dir
        setattr(holder, name, str((base / value).resolve()))


_MSGSPEC_ERROR = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<where>[^`]*)`)?$", re.DOTALL)
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`$")
_MISSING_FIELD = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")
_WRONG_TYPE = re.compile(r"^Expected `(?P<expected>[^`]+)`, got `(?P<got>[^`]+)`$")


def _explain(exc: msgspec.ValidationError) -> str:
    """Turn a msgspec error into ``unknown key 'a.b'`` / ``key 'a.b': expected int, got str``."""
    match = _MSGSPEC_ERROR.match(str(exc))
    if match is None:  # pragma: no cover - msgspec always formats errors this way
        return str(exc)
    message = match.group("message")
    where = (match.group("where") or "").lstrip(".").replace("[...]", "")
    unknown = _UNKNOWN_FIELD.match(message)
    if unknown is not None:
        return f"unknown key {'.'.join(filter(None, [where, unknown.group('field')]))!r}"
    missing = _MISSING_FIELD.match(message)
    if missing is not None:
        return f"missing key {'.'.join(filter(None, [where, missing.group('field')]))!r}"
    wrong = _WRONG_TYPE.match(message)
    if wrong is not None:
        message = f"expected {wrong.group('expected')}, got {wrong.group('got')}"
    return f"key {where!r}: {message}" if where else message


def _check_url(key: str, value: str | None, schemes: frozenset[str] = frozenset({"http", "https"})) -> None:
    if value is None:
        return
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not parsed.netloc:
        raise ConfigError(f"key {key!r}: {value!r} is not a valid {'/'.join(sorted(schemes))} URL")


def _check_choice(key: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"key {key!r}: {value!r} is not one of {', '.join(choices)}")


SHARED_STATE_BACKENDS = ("auto", "memory", "redis", "postgres")


def _check_shared_state(settings: Settings) -> None:
    shared = settings.shared_state
    _check_choice("shared_state.backend", shared.backend, SHARED_STATE_BACKENDS)
    _check_url("shared_state.redis_url", shared.redis_url, frozenset({"redis", "rediss"}))
    if shared.backend == "redis" and shared.redis_url is None:
        raise ConfigError("key 'shared_state.redis_url': required when shared_state.backend is 'redis'")
    if shared.timeout_seconds <= 0 or shared.unavailable_log_interval_seconds <= 0:
        raise ConfigError("key 'shared_state': timeout_seconds and unavailable_log_interval_seconds must be > 0")


BACKGROUND_EXECUTORS = ("auto", "in-process", "database")


def _check_background(settings: Settings) -> None:
    background = settings.background
    _check_choice("background.executor", background.executor, BACKGROUND_EXECUTORS)
    if background.executor == "database" and settings.database_store in {"memory", "in-memory"}:
        raise ConfigError("key 'background.executor': 'database' needs a SQL database_store, not memory")
    if background.workers < 1:
        raise ConfigError("key 'background.workers': must be at least 1")
    if min(background.poll_seconds, background.lease_seconds, background.retry_backoff_seconds) <= 0:
        raise ConfigError("key 'background': poll_seconds, lease_seconds and retry_backoff_seconds must be > 0")


def _validate(settings: Settings) -> None:
    host, _, port = settings.bind_address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"key 'bind_address': {settings.bind_address!r} is not HOST:PORT")
    if settings.database_store not in {"sqlite", "memory", "in-memory", "postgres", "postgresql", "sqlserver", "mssql"}:
        raise ConfigError(
            f"key 'database_store': {settings.database_store!r} is not one of sqlite, memory, postgres, sqlserver"
        )
    if settings.artifact_storage.backend != "opendal":
        raise ConfigError(f"key 'artifact_storage.backend': {settings.artifact_storage.backend!r} is not 'opendal'")
    _check_url("pypi.base_url", settings.pypi.base_url)
    _check_url("pypi.proxy_url", settings.pypi.proxy_url)
    if settings.pypi.ca_bundle is not None and not Path(settings.pypi.ca_bundle).exists():
        raise ConfigError(f"key 'pypi.ca_bundle': {settings.pypi.ca_bundle!r} does not exist")
    _check_url("security.vulnerability_webhook.url", settings.security.vulnerability_webhook.url)
    _check_url("security.package_publish_webhook.url", settings.security.package_publish_webhook.url)
    _check_url("postgres.connection_url", settings.postgres.connection_url, frozenset({"postgres", "postgresql"}))
    _check_url("sql_server.connection_url", settings.sql_server.connection_url, frozenset({"sqlserver", "mssql"}))
    _check_choice("logging.format", settings.logging.format, LOG_FORMATS)
    _check_shared_state(settings)
    _check_background(settings)
    try:
        parse_filter(settings.logging.filter)
    except ValueError as exc:
        raise ConfigError(f"key 'logging.filter': {exc}") from None
    _check_choice("logging.timestamp", settings.logging.timestamp, LOG_TIMESTAMPS)
    _check_choice("server.http", settings.server.http, SERVER_HTTP)
    _check_choice("server.loop", settings.server.loop, SERVER_LOOPS)
    token = settings.metrics.token
    if token is not None and (len(token) < 16 or not token.isprintable() or " " in token):
        raise ConfigError("key 'metrics.token': must be at least 16 printable characters without spaces")
    if settings.artifact_storage.opendal.scheme == "s3" and not settings.artifact_storage.opendal.options.get("bucket"):
        raise ConfigError("key 'artifact_storage.opendal.options.bucket': required when scheme is 's3'")
    endpoint = settings.artifact_storage.opendal.options.get("endpoint")
    _check_url("artifact_storage.opendal.options.endpoint", endpoint)
    for key in ("web_ui_allowed_cidrs", "api_allowed_cidrs"):
        for cidr in getattr(settings.network_source, key):
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ConfigError(f"key 'network_source.{key}': {cidr!r} is not a CIDR range") from None
    positive = {
        "pypi.mirror_download_concurrency": settings.pypi.mirror_download_concurrency,
        "pypi.artifact_download_max_attempts": settings.pypi.artifact_download_max_attempts,
        "rate_limit.requests_per_minute": settings.rate_limit.requests_per_minute,
        "rate_limit.burst": settings.rate_limit.burst,
        "rate_limit.max_tracked_clients": settings.rate_limit.max_tracked_clients,
        "validation.distribution_parallelism": settings.validation.distribution_parallelism,
        "server.max_upload_bytes": settings.server.max_upload_bytes,
        "server.max_request_head_bytes": settings.server.max_request_head_bytes,
        "server.request_head_timeout_seconds": settings.server.request_head_timeout_seconds,
        "server.keep_alive_timeout_seconds": settings.server.keep_alive_timeout_seconds,
        "server.max_connections": settings.server.max_connections,
    }
    for key, value in positive.items():
        if value <= 0:
            raise ConfigError(f"key {key!r}: must be greater than zero, got {value}")
    if not 0 <= settings.pypi.mirror_eager_download_percent <= 100:
        raise ConfigError("key 'pypi.mirror_eager_download_percent': must be between 0 and 100")
    accel = settings.server.accel_redirect_prefix
    if accel and not (accel.startswith("/") and accel.endswith("/") and accel.isascii() and " " not in accel):
        raise ConfigError(f"key 'server.accel_redirect_prefix': {accel!r} must be a path starting and ending with '/'")
    if settings.server.workers < 0:
        raise ConfigError(f"key 'server.workers': must be 0 (one per CPU) or more, got {settings.server.workers}")
    for position, issuer in enumerate(settings.oidc_issuers):
        if issuer.provider not in {"github", "gitlab"}:
            raise ConfigError(f"key 'oidc_issuers[{position}].provider': {issuer.provider!r} is not github or gitlab")
        _check_url(f"oidc_issuers[{position}].issuer", issuer.issuer)
        _check_url(f"oidc_issuers[{position}].jwks_url", issuer.jwks_url)
    _validate_sign_in(settings)


def _validate_sign_in(settings: Settings) -> None:
    names: set[str] = set()
    for position, provider in enumerate(settings.web_ui.oidc_providers):
        key = f"web_ui.oidc_providers[{position}]"
        if not _PROVIDER_NAME.match(provider.name) or provider.name in names:
            raise ConfigError(f"key '{key}.name': {provider.name!r} must be unique, lower-case letters, digits and -")
        names.add(provider.name)
        _check_url(f"{key}.issuer", provider.issuer)
        for index, mapping in enumerate(provider.group_roles):
            if mapping.role not in {"admin", "maintainer", "auditor"}:
                refused = f"{mapping.role!r} is not admin, maintainer or auditor"
                raise ConfigError(f"key '{key}.group_roles[{index}].role': {refused}")
    if not settings.web_ui.local_passwords and not names:
        needed = "false needs at least one [[web_ui.oidc_providers]] to sign in with"
        raise ConfigError(f"key 'web_ui.local_passwords': {needed}")


_PROVIDER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class GeneratedSecrets(msgspec.Struct, frozen=True):
    """Secrets generated on first start when the configuration gives none."""

    superadmin_password: str
    cookie_secret: str
    path: Path
    created: bool


def ensure_generated_secrets(data_dir: Path) -> GeneratedSecrets:
    """Load ``generated-secrets.toml`` from the data dir, creating it (mode 0600) on first start."""
    path = data_dir / "generated-secrets.toml"
    if path.is_file():
        data = _read_toml(path)
        return GeneratedSecrets(
            superadmin_password=str(data["superadmin_password"]),
            cookie_secret=str(data["cookie_secret"]),
            path=path,
            created=False,
        )
    import tomlkit

    data_dir.mkdir(parents=True, exist_ok=True)
    document = tomlkit.document()
    document.add(tomlkit.comment("Generated by pyregistry on first start because the configuration set none."))
    password = secrets.token_urlsafe(18)
    cookie_secret = secrets.token_urlsafe(48)
    document.add("superadmin_password", password)
    document.add("cookie_secret", cookie_secret)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(tomlkit.dumps(document))
    return GeneratedSecrets(superadmin_password=password, cookie_secret=cookie_secret, path=path, created=True)
