"""FoxGuard source and secret checks (the ``foxguard`` binary), merged into the common findings."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from pyregistry_application.security.findings import Finding, Severity

__all__ = ["FoxguardScanner", "find_foxguard"]

_SCANNER = "foxguard"
_SEVERITIES = {s.value: s for s in Severity}


def find_foxguard() -> str | None:
    """The ``foxguard`` executable beside this interpreter, else on ``PATH``."""
    beside = Path(sys.executable).parent / "foxguard"
    if beside.is_file():
        return str(beside)
    return shutil.which("foxguard")


class FoxguardScanner:
    """Implements ``Scanner``: ``foxguard DIR -f json`` plus ``foxguard secrets DIR -f json``."""

    name = _SCANNER

    def __init__(self, executable: str | None = None, timeout_seconds: float = 120) -> None:
        self._executable = executable or find_foxguard()
        self._timeout = timeout_seconds

    def scan(self, wheel: Path, unpacked: Path) -> list[Finding]:
        """Run both FoxGuard passes; raise ``RuntimeError`` when the tool is missing or broken."""
        if self._executable is None:
            raise RuntimeError("the foxguard executable is not installed (beside the interpreter or on PATH)")
        if not Path(self._executable).is_file():
            raise RuntimeError(f"the foxguard executable {self._executable} does not exist")
        findings = self._run([str(unpacked), "-f", "json"], unpacked)
        findings.extend(self._run(["secrets", str(unpacked), "-f", "json"], unpacked))
        return findings

    def _run(self, args: list[str], root: Path) -> list[Finding]:
        completed = subprocess.run(
            [str(self._executable), *args], capture_output=True, timeout=self._timeout, check=False, cwd=root
        )
        if completed.returncode not in (0, 1):
            message = completed.stderr.decode("utf-8", errors="replace").strip().splitlines()
            raise RuntimeError(f"foxguard exited with {completed.returncode}: {message[-1] if message else ''}")
        try:
            document = json.loads(completed.stdout or b"{}")
        except json.JSONDecodeError as exc:
            raise RuntimeError(f"foxguard printed invalid JSON: {exc}") from None
        return [self._finding(item, root) for item in document.get("findings", [])]

    @staticmethod
    def _finding(item: dict[str, Any], root: Path) -> Finding:
        file = str(item.get("file") or "")
        with contextlib.suppress(ValueError):
            file = Path(file).resolve().relative_to(root.resolve()).as_posix()
        severity = _SEVERITIES.get(str(item.get("severity", "")).lower(), Severity.MEDIUM)
        return Finding(
            rule_id=f"foxguard/{item.get('rule_id', 'unknown')}",
            severity=severity,
            file=file,
            line=item.get("line"),
            message=str(item.get("description") or item.get("rule_id") or ""),
            scanner=_SCANNER,
            evidence=str(item.get("snippet") or "")[:200],
        )
