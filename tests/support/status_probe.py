"""Counting every HTTP response a Python client subprocess (pip, twine) receives.

``probe_env`` returns environment variables that put a ``sitecustomize`` on the child's ``PYTHONPATH``; it wraps
``http.client.HTTPResponse.begin`` (which pip's vendored urllib3 and requests' urllib3 both use) and appends one
status code per response to a shared file. ``read_statuses`` counts them. Nothing about the requests is changed.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

__all__ = ["probe_env", "read_statuses"]

STATUS_LOG_ENV = "PYREGISTRY_TEST_STATUS_LOG"
_SITECUSTOMIZE = f'''
import http.client
import os

_log = os.environ.get("{STATUS_LOG_ENV}")
_begin = http.client.HTTPResponse.begin


def _counted_begin(self):
    _begin(self)
    descriptor = os.open(_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, b"%d\\n" % self.status)
    finally:
        os.close(descriptor)


if _log:
    http.client.HTTPResponse.begin = _counted_begin
'''


def probe_env(directory: Path, base: dict[str, str]) -> dict[str, str]:
    """``base`` plus what makes Python children record their response statuses in ``directory/statuses.log``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    path = os.pathsep.join(filter(None, [str(directory), base.get("PYTHONPATH", "")]))
    return {**base, "PYTHONPATH": path, STATUS_LOG_ENV: str(directory / "statuses.log")}


def read_statuses(directory: Path) -> Counter[int]:
    """Every status recorded so far, counted (empty when no child has received a response yet)."""
    log = directory / "statuses.log"
    if not log.is_file():
        return Counter()
    return Counter(int(line) for line in log.read_text().split())
