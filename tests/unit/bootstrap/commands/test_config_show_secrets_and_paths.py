"""``config show`` never prints a credential, and shows the effective, absolute storage paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pyregistry_bootstrap.cli import main
from pyregistry_infrastructure.config import ConfigError, load_settings
from pyregistry_infrastructure.secret_masking import MASK, is_secret_name, mask_setting, mask_url

SECRET_OPTION_NAMES = [
    "token",
    "credential",
    "sas_token",
    "account_key",
    "secret_access_key",
    "session_token",
    "password",
    "access_key_id",
    "client_secret",
    "api_key",
    "apikey",
    "private_key",
    "master_key",
    "encryption_key",
    "customer_key",
    "server_side_encryption_customer_key",
    "key",
    "security_token",
    "refresh_token",
    "oauth_token",
    "passwd",
    "db_password",
    "connection_string",
    "signature",
    "Secret-Access-Key",
    "ACCOUNT_KEY",
]
PLAIN_OPTION_NAMES = [
    "bucket",
    "endpoint",
    "region",
    "root",
    "container",
    "account_name",
    "enable_virtual_host_style",
    "disable_config_load",
    "disable_ec2_metadata",
    "allow_anonymous",
    "role_arn",
    "default_storage_class",
    "keyspace",
    "monkey_patch",
    "secure_cookies",
    "username",
    "base_url",
    "jwks_url",
]


@pytest.fixture(autouse=True)
def _away_from_local_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize("name", SECRET_OPTION_NAMES)
def test_credential_names_are_secret(name: str) -> None:
    assert is_secret_name(name)
    assert mask_setting(f"artifact_storage.opendal.options.{name}", "s3cr3t-value") == MASK


@pytest.mark.parametrize("name", PLAIN_OPTION_NAMES)
def test_ordinary_names_are_shown(name: str) -> None:
    assert not is_secret_name(name)
    assert mask_setting(f"artifact_storage.opendal.options.{name}", "plain-value") == "plain-value"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "http://__token__:pyr_abc@registry.internal/t/acme/simple/",
            f"http://__token__:{MASK}@registry.internal/t/acme/simple/",
        ),
        ("https://TOKEN123@pypi.fury.io/acme/", f"https://{MASK}@pypi.fury.io/acme/"),
        ("https://pypi.org", "https://pypi.org"),
        ("https://hooks.example/x?token=abc&channel=ops", f"https://hooks.example/x?token={MASK}&channel=ops"),
        (
            "https://acct.blob.core.windows.net/c?sv=2024&sig=abc%3D",
            f"https://acct.blob.core.windows.net/c?sv=2024&sig={MASK}",
        ),
        ("postgres://app:pw@db/reg", f"postgres://app:{MASK}@db/reg"),
        ("postgres://app@db/reg", "postgres://app@db/reg"),
        ("not a url", "not a url"),
    ],
)
def test_urls_lose_their_credentials(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_config_show_prints_no_credential_anywhere(tmp_path: Path) -> None:
    secrets = {
        "pypi-token-leak",
        "account-key-leak",
        "sas-leak",
        "opendal-token-leak",
        "credential-leak",
        "pg-leak",
        "jwks-leak",
        "hook-leak",
        "mssql-leak",
    }
    config = tmp_path / "pyregistry.toml"
    config.write_text(
        'database_store = "memory"\n'
        "[pypi]\nbase_url = 'http://__token__:pypi-token-leak@registry.internal/t/acme/simple/'\n"
        "[artifact_storage.opendal]\nscheme = 'azblob'\n"
        "[artifact_storage.opendal.options]\ncontainer = 'pkgs'\naccount_name = 'acct'\n"
        "account_key = 'account-key-leak'\nsas_token = 'sas-leak'\ntoken = 'opendal-token-leak'\n"
        "credential = 'credential-leak'\n"
        "[postgres]\nconnection_url = 'postgresql://app:pg-leak@db/reg'\n"
        "[sql_server]\nconnection_url = 'sqlserver://sa:mssql-leak@db:1433/reg'\n"
        "[security.vulnerability_webhook]\nurl = 'https://discord.example/api/webhooks/1/hook-leak'\n"
        "[[oidc_issuers]]\nprovider = 'github'\nissuer = 'https://issuer.example'\n"
        "jwks_url = 'https://user:jwks-leak@issuer.example/jwks'\n",
    )
    result = CliRunner(env={"PYREGISTRY_CONFIG": None}).invoke(main, ["--config", str(config), "config", "show"])
    assert result.exit_code == 0, result.output
    assert [secret for secret in sorted(secrets) if secret in result.output] == []
    lines = {line.split(" = ")[0]: line.split("  #")[0].strip() for line in result.output.splitlines() if " = " in line}
    assert lines["pypi.base_url"] == f'pypi.base_url = "http://__token__:{MASK}@registry.internal/t/acme/simple/"'
    assert (
        lines["artifact_storage.opendal.options.account_name"]
        == 'artifact_storage.opendal.options.account_name = "acct"'
    )
    assert (
        lines["artifact_storage.opendal.options.sas_token"] == f'artifact_storage.opendal.options.sas_token = "{MASK}"'
    )
    assert f"https://user:{MASK}@issuer.example/jwks" in lines["oidc_issuers"]


def test_relative_paths_start_at_the_config_file_and_config_show_prints_them(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    config = site / "pyregistry.toml"
    config.write_text('blob_root = "store/blobs"\n[sqlite]\npath = "meta/registry.sqlite3"\n')
    loaded = load_settings(str(config), {"DATA_DIR": "from-env"})
    assert loaded.settings.blob_root == str(site / "store" / "blobs")
    assert loaded.settings.sqlite.path == str(site / "meta" / "registry.sqlite3")
    assert loaded.settings.data_dir == str(tmp_path / "from-env")
    result = CliRunner().invoke(main, ["--config", str(config), "config", "show"])
    assert f'blob_root = "{site / "store" / "blobs"}"' in result.output


def test_the_filesystem_root_has_one_source(tmp_path: Path) -> None:
    config = tmp_path / "pyregistry.toml"
    config.write_text("[artifact_storage.opendal.options]\nroot = 'old-layout/blobs'\n")
    loaded = load_settings(str(config), {})
    assert loaded.settings.blob_root == str(tmp_path / "old-layout" / "blobs")
    assert loaded.settings.artifact_storage.opendal.options == {}
    assert loaded.sources["blob_root"] == f"file:{config}"
    assert load_settings(str(config), {"BLOB_ROOT": "old-layout/blobs"}).settings.blob_root.endswith("old-layout/blobs")
    with pytest.raises(ConfigError) as refused:
        load_settings(str(config), {"BLOB_ROOT": "/srv/blobs"})
    assert str(refused.value) == (
        f"key 'artifact_storage.opendal.options.root' ('old-layout/blobs', file:{config}) and key 'blob_root' "
        "('/srv/blobs', env:BLOB_ROOT) name different storage roots; set only blob_root (BLOB_ROOT)"
    )
