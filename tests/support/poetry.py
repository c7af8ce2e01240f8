"""Running poetry in tests: its own config, cache and data directories, no keyring, credentials from the
environment, and never the test runner's virtualenv."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tests.support.server import clean_client_env

__all__ = ["poetry_env"]


def _env_name(name: str) -> str:
    return name.upper().replace("-", "_")


def poetry_env(home: Path, tokens: Mapping[str, str], repositories: Mapping[str, str] | None = None) -> dict[str, str]:
    """``tokens`` maps a source or repository name to the token sent as ``__token__``'s password; ``repositories``
    maps publish repository names to their URLs. ``VIRTUAL_ENV`` (set by ``uv run``) is dropped, so poetry makes
    the project's own ``.venv``."""
    extra = {
        "POETRY_CONFIG_DIR": str(home / "config"),
        "POETRY_CACHE_DIR": str(home / "cache"),
        "POETRY_DATA_DIR": str(home / "data"),
        "POETRY_KEYRING_ENABLED": "false",
        "POETRY_VIRTUALENVS_IN_PROJECT": "true",
    }
    for name, url in (repositories or {}).items():
        extra[f"POETRY_REPOSITORIES_{_env_name(name)}_URL"] = url
    for name, token in tokens.items():
        extra[f"POETRY_HTTP_BASIC_{_env_name(name)}_USERNAME"] = "__token__"
        extra[f"POETRY_HTTP_BASIC_{_env_name(name)}_PASSWORD"] = token
    env = clean_client_env(extra)
    env.pop("VIRTUAL_ENV", None)
    return env
