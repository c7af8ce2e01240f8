"""Typed settings: every key the configuration file may hold, with its default."""

from __future__ import annotations

import msgspec

__all__ = [
    "ArtifactStorageSettings",
    "BackgroundSettings",
    "LoggingSettings",
    "MetricsSettings",
    "NetworkSourceSettings",
    "OidcIssuerSettings",
    "OpenDalSettings",
    "PostgresSettings",
    "PypiSettings",
    "RateLimitSettings",
    "ReleasePolicySettings",
    "SecuritySettings",
    "ServerSettings",
    "Settings",
    "SharedStateSettings",
    "SqlServerSettings",
    "SqliteSettings",
    "TracingSettings",
    "ValidationSettings",
    "WebUiSettings",
    "WebhookSettings",
]

PUBLIC_PYPI_URL = "https://pypi.org"


class _Section(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class OpenDalSettings(_Section):
    scheme: str = "fs"
    options: dict[str, str] = msgspec.field(default_factory=dict)


class ArtifactStorageSettings(_Section):
    backend: str = "opendal"
    presigned_redirects: bool = False
    opendal: OpenDalSettings = msgspec.field(default_factory=OpenDalSettings)


class PypiSettings(_Section):
    base_url: str = PUBLIC_PYPI_URL
    mirror_download_concurrency: int = 4
    mirror_eager_download_percent: int = 10
    artifact_download_max_attempts: int = 3
    artifact_download_initial_backoff_millis: int = 250
    mirror_http_timeout_seconds: float = 30
    mirror_metadata_max_bytes: int = 10 * 1024 * 1024
    mirror_artifact_max_bytes: int = 100 * 1024 * 1024
    mirror_update_enabled: bool = True
    mirror_update_interval_seconds: int = 3600
    mirror_update_on_startup: bool = True
    file_hosts: list[str] | None = None
    ca_bundle: str | None = None
    proxy_url: str | None = None
    mirror_verify_whole_max_bytes: int = 1024 * 1024


class SqliteSettings(_Section):
    path: str = ".pyregistry/pyregistry.sqlite3"


class PostgresSettings(_Section):
    connection_url: str = "postgres://pyregistry:pyregistry@127.0.0.1:5432/pyregistry"
    max_connections: int = 20
    min_connections: int = 2
    acquire_timeout_seconds: float = 10
    listen_for_changes: bool = True


class SqlServerSettings(_Section):
    connection_url: str = "sqlserver://sa:Pyregistry123!@127.0.0.1:1433/pyregistry?trust_server_certificate=true"
    max_connections: int = 20
    min_connections: int = 2
    acquire_timeout_seconds: float = 10


class WebhookSettings(_Section):
    url: str | None = None
    username: str = "Pyregistry"
    timeout_seconds: float = 10


class SecuritySettings(_Section):
    yara_rules_path: str | None = None
    foxguard_path: str | None = None
    advisory_db_path: str | None = None
    audit_fail_severity: str = "high"
    mirror_scan_enabled: bool = True
    mirror_block_severity: str = "critical"
    mirror_provenance_enabled: bool = True
    provenance_continuity: bool = True
    vulnerability_webhook: WebhookSettings = msgspec.field(default_factory=WebhookSettings)
    package_publish_webhook: WebhookSettings = msgspec.field(default_factory=WebhookSettings)


class ReleasePolicySettings(_Section):
    """``[policy]``: defaults of the release policies for upstream files (each overridable per tenant)."""

    min_release_age: str = "0"
    cooldown_unknown_upload_time: str = "hold"
    vulnerability_action: str = "off"
    vulnerability_severity: str = "high"


class RateLimitSettings(_Section):
    enabled: bool = True
    requests_per_minute: int = 120
    burst: int = 60
    max_tracked_clients: int = 10_000
    trust_proxy_headers: bool = False
    count_successful_requests: bool = False


class SharedStateSettings(_Section):
    backend: str = "auto"
    redis_url: str | None = None
    redis_prefix: str = "pyregistry:limits:"
    timeout_seconds: float = 1.0
    unavailable_log_interval_seconds: float = 60


class BackgroundSettings(_Section):
    executor: str = "auto"
    """auto: the durable job table when the metadata store is PostgreSQL or SQL Server, in-process otherwise."""
    workers: int = 2
    poll_seconds: float = 0.5
    lease_seconds: float = 30
    retry_backoff_seconds: float = 2
    max_retry_backoff_seconds: float = 300
    keep_done_days: float = 7


class NetworkSourceSettings(_Section):
    web_ui_allowed_cidrs: list[str] = msgspec.field(default_factory=list)
    api_allowed_cidrs: list[str] = msgspec.field(default_factory=list)
    trust_proxy_headers: bool = False


class OidcGroupRoleSettings(_Section):
    group: str
    tenant: str
    role: str


class OidcProviderSettings(_Section):
    name: str
    issuer: str
    client_id: str
    client_secret: str = ""
    display_name: str = ""
    scopes: list[str] = msgspec.field(default_factory=lambda: ["openid", "email", "profile"])
    group_claim: str = "groups"
    group_roles: list[OidcGroupRoleSettings] = msgspec.field(default_factory=list)


class WebUiSettings(_Section):
    show_index_stats: bool = True
    secure_cookies: bool = False
    local_passwords: bool = True
    oidc_providers: list[OidcProviderSettings] = msgspec.field(default_factory=list)


class ValidationSettings(_Section):
    distribution_parallelism: int = 4


class LoggingSettings(_Section):
    filter: str = "info"
    module_path: bool = True
    target: bool = False
    timestamp: str = "seconds"
    format: str = "console"


class MetricsSettings(_Section):
    enabled: bool = True
    token: str | None = None


class TracingSettings(_Section):
    enabled: bool = False


class OidcIssuerSettings(_Section):
    provider: str
    issuer: str
    jwks_url: str
    audience: str = "pyregistry"


class ServerSettings(_Section):
    workers: int = 0
    """Worker processes; 0 picks one per usable CPU (one with the in-memory store, which a process cannot share)."""
    max_upload_bytes: int = 1024 * 1024 * 1024
    http: str = "auto"
    loop: str = "auto"
    max_request_head_bytes: int = 64 * 1024
    request_head_timeout_seconds: int = 10
    keep_alive_timeout_seconds: int = 5
    max_connections: int = 1000
    accel_redirect_prefix: str = ""


class Settings(_Section):
    """The effective configuration."""

    bind_address: str = "127.0.0.1:3000"
    blob_root: str = ".pyregistry/blobs"
    data_dir: str = ".pyregistry"
    superadmin_email: str = "admin@pyregistry.local"
    superadmin_password: str | None = None
    cookie_secret: str | None = None
    database_store: str = "sqlite"
    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    artifact_storage: ArtifactStorageSettings = msgspec.field(default_factory=ArtifactStorageSettings)
    pypi: PypiSettings = msgspec.field(default_factory=PypiSettings)
    sqlite: SqliteSettings = msgspec.field(default_factory=SqliteSettings)
    postgres: PostgresSettings = msgspec.field(default_factory=PostgresSettings)
    sql_server: SqlServerSettings = msgspec.field(default_factory=SqlServerSettings)
    security: SecuritySettings = msgspec.field(default_factory=SecuritySettings)
    policy: ReleasePolicySettings = msgspec.field(default_factory=ReleasePolicySettings)
    rate_limit: RateLimitSettings = msgspec.field(default_factory=RateLimitSettings)
    network_source: NetworkSourceSettings = msgspec.field(default_factory=NetworkSourceSettings)
    shared_state: SharedStateSettings = msgspec.field(default_factory=SharedStateSettings)
    background: BackgroundSettings = msgspec.field(default_factory=BackgroundSettings)
    web_ui: WebUiSettings = msgspec.field(default_factory=WebUiSettings)
    validation: ValidationSettings = msgspec.field(default_factory=ValidationSettings)
    logging: LoggingSettings = msgspec.field(default_factory=LoggingSettings)
    metrics: MetricsSettings = msgspec.field(default_factory=MetricsSettings)
    tracing: TracingSettings = msgspec.field(default_factory=TracingSettings)
    oidc_issuers: list[OidcIssuerSettings] = msgspec.field(default_factory=list)
