"""Installing into a target directory with the running interpreter's pip, from one index only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.server import clean_client_env

__all__ = ["pip_install_into"]


def pip_install_into(target: Path, index_url: str, *requirements: str) -> subprocess.CompletedProcess[str]:
    """``pip install --target`` without a cache, so every file comes from ``index_url``."""
    command = [sys.executable, "-m", "pip", "install", "--no-cache-dir", "--target", str(target)]
    return subprocess.run(
        [*command, "--index-url", index_url, *requirements],
        capture_output=True,
        text=True,
        timeout=180,
        env=clean_client_env(),
        check=False,
    )
