"""A small OSV advisory database in the pypa/advisory-database layout, written by the tests."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["write_small_advisory_db"]

_YAML = """id: PYSEC-2099-1
summary: Remote code execution in vulnpkg
details: |
  vulnpkg before 1.2.0 evaluates untrusted input.
aliases:
- CVE-2099-0001
modified: "2099-01-02T00:00:00Z"
published: "2099-01-01T00:00:00Z"
affected:
- package:
    name: VulnPkg
    ecosystem: PyPI
  ranges:
  - type: GIT
    repo: https://example.invalid/vulnpkg
    events:
    - introduced: "0"
    - fixed: 0123456789abcdef0123456789abcdef01234567
  - type: ECOSYSTEM
    events:
    - introduced: "0"
    - fixed: 1.2.0
"""


def write_small_advisory_db(root: Path) -> Path:
    """Two advisories for ``vulnpkg`` (YAML, and JSON with ``last_affected``) and one for another ecosystem."""
    (root / "vulns" / "vulnpkg").mkdir(parents=True, exist_ok=True)
    (root / "vulns" / "vulnpkg" / "PYSEC-2099-1.yaml").write_text(_YAML, encoding="utf-8")
    second = {
        "id": "PYSEC-2099-2",
        "summary": "Path traversal in vulnpkg 1.5",
        "modified": "2099-02-01T00:00:00Z",
        "aliases": ["GHSA-aaaa-bbbb-cccc"],
        "affected": [
            {
                "package": {"name": "vulnpkg", "ecosystem": "PyPI"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.5"}, {"fixed": "1.5.3"}]}],
                "versions": ["1.5.0", "1.5.1", "1.5.2"],
            }
        ],
    }
    (root / "vulns" / "vulnpkg" / "PYSEC-2099-2.json").write_text(json.dumps(second), encoding="utf-8")
    third = {
        "id": "NPM-2099-3",
        "modified": "2099-03-01T00:00:00Z",
        "affected": [{"package": {"name": "vulnpkg", "ecosystem": "npm"}, "versions": ["1.0.0"]}],
    }
    (root / "vulns" / "npm.json").write_text(json.dumps(third), encoding="utf-8")
    (root / "vulns" / "broken.yaml").write_text("id: [unterminated\n", encoding="utf-8")
    return root
