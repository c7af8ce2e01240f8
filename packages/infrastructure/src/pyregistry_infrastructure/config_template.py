"""The commented TOML configuration that ``pyregistry init-config`` writes."""

from __future__ import annotations

import secrets

import tomlkit
from tomlkit.items import Table

from pyregistry_infrastructure.settings import PUBLIC_PYPI_URL, Settings

__all__ = ["render_config_template"]


_SIGN_IN_EXAMPLE = (
    "Admin sign-in with OpenID Connect (Keycloak, Okta, Entra ID, Google, ...); roles come from the group claim:",
    "[[web_ui.oidc_providers]]",
    'name = "corp"                      # in the callback URL: <base>/admin/oidc/corp/callback',
    'display_name = "Corp SSO"',
    'issuer = "https://sso.example.com/realms/corp"',
    'client_id = "pyregistry"',
    'client_secret = "..."',
    'group_claim = "groups"',
    'group_roles = [{ group = "acme-devs", tenant = "acme", role = "maintainer" }]',
)


def _table(comment: str, values: dict[str, object]) -> Table:
    table = tomlkit.table()
    table.comment(comment)
    for key, value in values.items():
        table.add(key, value)
    return table


_DEV_ISSUER: dict[str, object] = {
    "provider": "github",
    "issuer": "https://issuer.pyregistry.local",
    "jwks_url": "http://127.0.0.1:8081/jwks.json",
    "audience": "pyregistry",
}


def render_config_template(storage: str = "fs", *, dev_oidc_issuer: bool = False) -> str:
    """A complete configuration with fresh secrets; ``storage`` is ``fs`` or ``minio``. The development OIDC
    issuer (whose JWKS any local user able to bind 127.0.0.1:8081 could serve) is written commented out unless
    ``dev_oidc_issuer``."""
    defaults = Settings()
    doc = tomlkit.document()
    doc.add(tomlkit.comment("pyregistry configuration. Environment variables override these keys."))
    doc.add(tomlkit.nl())
    doc.add("bind_address", defaults.bind_address)
    doc["bind_address"].comment("HOST:PORT the HTTP server listens on")
    doc.add("blob_root", defaults.blob_root)
    doc["blob_root"].comment("filesystem artifact storage; relative paths start at this file's directory")
    doc.add("data_dir", defaults.data_dir)
    doc["data_dir"].comment("generated secrets and upload spool files (relative: from this file's directory)")
    doc.add("superadmin_email", defaults.superadmin_email)
    doc.add("superadmin_password", secrets.token_urlsafe(18))
    doc["superadmin_password"].comment("change me; applied to the superadmin account on every start")
    doc.add("cookie_secret", secrets.token_urlsafe(48))
    doc.add("database_store", "sqlite")
    doc["database_store"].comment("sqlite | memory | postgres | sqlserver")
    doc.add(tomlkit.nl())
    doc.add(
        "server",
        _table(
            "HTTP server",
            {
                "workers": tomlkit.item(0).comment("0 = one per CPU (1 with the memory store)"),
                "max_upload_bytes": defaults.server.max_upload_bytes,
                "http": tomlkit.item("auto").comment("auto | httptools | h11"),
                "loop": tomlkit.item("auto").comment("auto | uvloop | asyncio"),
                "max_request_head_bytes": tomlkit.item(defaults.server.max_request_head_bytes).comment(
                    "request line + headers; larger heads get 431"
                ),
                "request_head_timeout_seconds": tomlkit.item(defaults.server.request_head_timeout_seconds).comment(
                    "a request head must arrive this fast (408)"
                ),
                "keep_alive_timeout_seconds": tomlkit.item(defaults.server.keep_alive_timeout_seconds).comment(
                    "silent connections are closed after this"
                ),
                "max_connections": tomlkit.item(defaults.server.max_connections).comment(
                    "open connections per worker process; past it 503"
                ),
                "accel_redirect_prefix": tomlkit.item("").comment(
                    "behind nginx: downloads answer X-Accel-Redirect to this internal location, e.g. /_blobs/"
                ),
            },
        ),
    )
    storage_table = tomlkit.table()
    storage_table.add("backend", "opendal")
    storage_table.add(
        "presigned_redirects",
        tomlkit.item(False).comment("object stores: downloads redirect to a 60 s presigned URL (pip and uv follow)"),
    )
    opendal = tomlkit.table()
    if storage == "minio":
        opendal.add("scheme", "s3")
        options = _table(
            "S3-compatible storage (MinIO from compose.yaml)",
            {
                "bucket": "pyregistry",
                "endpoint": "http://127.0.0.1:9000",
                "region": "us-east-1",
                "access_key_id": "pyregistry",
                "secret_access_key": "pyregistry123",
                "root": "/artifacts",
                "disable_config_load": "true",
                "disable_ec2_metadata": "true",
                "enable_virtual_host_style": "false",
            },
        )
    else:
        opendal.add("scheme", "fs")
        options = _table("filesystem storage: its root is blob_root above", {})
    opendal.add("options", options)
    storage_table.add("opendal", opendal)
    doc.add("artifact_storage", storage_table)
    pypi = defaults.pypi
    pypi_table = _table(
        "read-through mirroring upstream",
        {
            "base_url": PUBLIC_PYPI_URL,
            "mirror_download_concurrency": pypi.mirror_download_concurrency,
            "mirror_eager_download_percent": pypi.mirror_eager_download_percent,
            "artifact_download_max_attempts": pypi.artifact_download_max_attempts,
            "artifact_download_initial_backoff_millis": pypi.artifact_download_initial_backoff_millis,
            "mirror_http_timeout_seconds": int(pypi.mirror_http_timeout_seconds),
            "mirror_metadata_max_bytes": pypi.mirror_metadata_max_bytes,
            "mirror_artifact_max_bytes": pypi.mirror_artifact_max_bytes,
            "mirror_update_enabled": pypi.mirror_update_enabled,
            "mirror_update_interval_seconds": pypi.mirror_update_interval_seconds,
            "mirror_update_on_startup": pypi.mirror_update_on_startup,
            "mirror_verify_whole_max_bytes": pypi.mirror_verify_whole_max_bytes,
        },
    )
    pypi_table.add(tomlkit.comment('file_hosts = ["files.example"]  # default: files.pythonhosted.org for pypi.org'))
    pypi_table.add(tomlkit.comment('ca_bundle = "/etc/ssl/corp-ca.pem"  # trusted besides the system store'))
    pypi_table.add(tomlkit.comment('proxy_url = "http://proxy.internal:3128"  # default: HTTPS_PROXY and friends'))
    doc.add("pypi", pypi_table)
    doc.add("sqlite", _table("default metadata store", {"path": defaults.sqlite.path}))
    doc.add(
        "postgres",
        _table(
            'used when database_store = "postgres"',
            {
                "connection_url": defaults.postgres.connection_url,
                "max_connections": defaults.postgres.max_connections,
                "min_connections": defaults.postgres.min_connections,
                "acquire_timeout_seconds": int(defaults.postgres.acquire_timeout_seconds),
                "listen_for_changes": tomlkit.item(defaults.postgres.listen_for_changes).comment(
                    "keep cached-page checks until PostgreSQL notifies a change (needs LISTEN: no transaction pooling)"
                ),
            },
        ),
    )
    doc.add(
        "sql_server",
        _table(
            'used when database_store = "sqlserver"',
            {
                "connection_url": defaults.sql_server.connection_url,
                "max_connections": defaults.sql_server.max_connections,
                "min_connections": defaults.sql_server.min_connections,
                "acquire_timeout_seconds": int(defaults.sql_server.acquire_timeout_seconds),
            },
        ),
    )
    security = _table(
        "package security checks",
        {
            "audit_fail_severity": "high",
            "mirror_scan_enabled": defaults.security.mirror_scan_enabled,
            "mirror_block_severity": defaults.security.mirror_block_severity,
            "mirror_provenance_enabled": defaults.security.mirror_provenance_enabled,
            "provenance_continuity": defaults.security.provenance_continuity,
        },
    )
    security.add(
        tomlkit.comment('yara_rules_path = "/etc/pyregistry/yara"  # default: the rules bundled in the package')
    )
    security.add(tomlkit.comment('advisory_db_path = "/path/to/advisory-db"  # offline advisory database (optional)'))
    security.add(tomlkit.comment('foxguard_path = "/opt/foxguard/bin/foxguard"  # default: beside python, else PATH'))
    for name, purpose in (
        ("vulnerability_webhook", "check-registry findings"),
        ("package_publish_webhook", "new packages and versions"),
    ):
        webhook = _table(
            f"Discord-compatible webhook for {purpose}; set url to enable",
            {"username": defaults.security.vulnerability_webhook.username, "timeout_seconds": 10},
        )
        webhook.add(tomlkit.comment('url = "https://discord.com/api/webhooks/..."'))
        security.add(name, webhook)
    doc.add("security", security)
    doc.add(
        "policy",
        _table(
            "release policies for mirrored files (defaults; each tenant can override them in the admin UI or CLI)",
            {
                "min_release_age": defaults.policy.min_release_age,
                "cooldown_unknown_upload_time": defaults.policy.cooldown_unknown_upload_time,
                "vulnerability_action": defaults.policy.vulnerability_action,
                "vulnerability_severity": defaults.policy.vulnerability_severity,
            },
        ),
    )
    doc.add(
        "rate_limit",
        _table(
            "per-client limits on /t/... and /_/oidc/...",
            {
                "enabled": True,
                "requests_per_minute": 120,
                "burst": 60,
                "max_tracked_clients": 10000,
                "trust_proxy_headers": False,
                "count_successful_requests": tomlkit.item(False).comment(
                    "false: answers below 400 give their token back, so only failing requests are limited"
                ),
            },
        ),
    )
    shared_state = _table(
        "rate-limit buckets and login throttles: auto = redis when redis_url is set, else postgres when "
        "database_store is postgres, else memory (this process only)",
        {
            "backend": "auto",
            "redis_prefix": "pyregistry:limits:",
            "timeout_seconds": 1.0,
            "unavailable_log_interval_seconds": 60,
        },
    )
    shared_state.add(tomlkit.comment('redis_url = "redis://127.0.0.1:6379/0"'))
    doc.add("shared_state", shared_state)
    doc.add(
        "background",
        _table(
            "webhooks and other background work: auto = the durable job table in the metadata store when it is "
            "postgres or sqlserver (any node runs any job, survives a crash), else in-process (this process only)",
            {
                "executor": "auto",
                "workers": 2,
                "poll_seconds": 0.5,
                "lease_seconds": 30.0,
                "retry_backoff_seconds": 2.0,
                "max_retry_backoff_seconds": 300.0,
                "keep_done_days": 7.0,
            },
        ),
    )
    doc.add(
        "network_source",
        _table(
            "empty lists allow every source",
            {
                "web_ui_allowed_cidrs": tomlkit.array(),
                "api_allowed_cidrs": tomlkit.array(),
                "trust_proxy_headers": False,
            },
        ),
    )
    doc.add(
        "web_ui",
        _table(
            "admin UI",
            {
                "show_index_stats": True,
                "secure_cookies": tomlkit.item(False).comment(
                    "true when browsers use https (TLS ends at a proxy): the session cookie is always Secure"
                ),
                "local_passwords": tomlkit.item(True).comment("false: sign in only through [[web_ui.oidc_providers]]"),
            },
        ),
    )
    doc.add(tomlkit.nl())
    for line in _SIGN_IN_EXAMPLE:
        doc.add(tomlkit.comment(line))
    doc.add("validation", _table("validate-dist-all", {"distribution_parallelism": 4}))
    doc.add(
        "logging",
        _table(
            "format = console | json",
            {
                "filter": "info",
                "module_path": True,
                "target": False,
                "timestamp": "seconds",
                "format": "console",
            },
        ),
    )
    metrics = _table(
        "Prometheus /metrics; without a token only loopback (or api_allowed_cidrs) may scrape", {"enabled": True}
    )
    metrics.add(tomlkit.comment('token = "a long random string"  # then scrape with Authorization: Bearer <token>'))
    doc.add("metrics", metrics)
    doc.add(
        "tracing",
        _table("OpenTelemetry traces, exported as the OTEL_* environment variables say", {"enabled": False}),
    )
    if dev_oidc_issuer:
        issuers = tomlkit.aot()
        issuers.append(
            _table("development JWKS issuer (the jwks service in compose.yaml); never in production", _DEV_ISSUER)
        )
        doc.add("oidc_issuers", issuers)
    else:
        doc.add(tomlkit.nl())
        doc.add(tomlkit.comment("Trusted publishing: add the CI identity providers whose tokens may publish, e.g."))
        doc.add(tomlkit.comment("[[oidc_issuers]]"))
        doc.add(tomlkit.comment('provider = "github"'))
        doc.add(tomlkit.comment('issuer = "https://token.actions.githubusercontent.com"'))
        doc.add(tomlkit.comment('jwks_url = "https://token.actions.githubusercontent.com/.well-known/jwks"'))
        doc.add(tomlkit.comment('audience = "pyregistry"'))
    return tomlkit.dumps(doc)
