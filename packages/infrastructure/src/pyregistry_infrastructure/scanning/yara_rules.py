"""YARA signatures with yara-x: compiled once per rule directory and cached for the process."""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path

import structlog
import yara_x

from pyregistry_application.security.findings import Finding, Severity
from pyregistry_infrastructure.scanning.files import MAX_SCAN_BYTES, iter_files, relative

__all__ = ["CompiledRules", "YaraScanner", "compile_rules", "resolve_rules_dir", "supplied_rules_dir"]

_log = structlog.get_logger(__name__)
_SCANNER = "yara"
_GLOBALS = ("filename", "filepath", "extension", "filetype", "owner")
_RULE_SUFFIXES = {".yar", ".yara"}
_cache: dict[str, tuple[tuple[tuple[str, int, int], ...], CompiledRules]] = {}
_cache_lock = threading.Lock()


class CompiledRules:
    """Compiled rules plus where they came from and what the compiler skipped."""

    def __init__(self, rules: yara_x.Rules, directory: Path, files: int, warnings: int, skipped: list[str]) -> None:
        self.rules = rules
        self.directory = directory
        self.files = files
        self.warnings = warnings
        self.skipped = skipped


def supplied_rules_dir() -> Path:
    """The project's own rules: inside the installed wheel, or ``supplied/yara`` of a source checkout."""
    packaged = resources.files("pyregistry_infrastructure") / "supplied" / "yara"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[5] / "supplied" / "yara"


def _rule_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix.lower() in _RULE_SUFFIXES and p.is_file())


def resolve_rules_dir(configured: str | Path | None) -> Path:
    """``configured`` when it is a readable directory with rules, else the supplied rules (logged)."""
    if configured:
        path = Path(configured).expanduser()
        try:
            if path.is_dir() and _rule_files(path):
                return path
            reason = "no .yar files" if path.is_dir() else "not a directory"
        except OSError as exc:
            reason = str(exc)
        _log.warning("yara rules directory unusable; using the supplied rules", path=str(path), reason=reason)
    return supplied_rules_dir()


def compile_rules(directory: Path) -> CompiledRules:
    """Compile every rule file of ``directory``, reusing the cached result while the files are unchanged."""
    files = _rule_files(directory)
    signature = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    key = str(directory.resolve())
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == signature:
            return cached[1]
        compiler = yara_x.Compiler(relaxed_re_syntax=True)
        for name in _GLOBALS:
            compiler.define_global(name, "")
        compiler.ignore_invalid_rules(True)
        skipped: list[str] = []
        for path in files:
            try:
                compiler.add_source(path.read_text(errors="replace"), origin=path.name)
            except yara_x.CompileError as exc:
                skipped.append(f"{path.name}: {str(exc).splitlines()[0] if str(exc) else 'compile error'}")
        rules = compiler.build()
        compiled = CompiledRules(rules, directory, len(files), len(compiler.warnings()), skipped)
        _cache[key] = (signature, compiled)
        _log.info("yara rules compiled", directory=str(directory), files=len(files), skipped=len(skipped))
        return compiled


def _severity(metadata: dict[str, object]) -> Severity:
    declared = metadata.get("severity")
    if isinstance(declared, str):
        try:
            return Severity.parse(declared)
        except ValueError:
            pass
    score = metadata.get("score")
    if isinstance(score, int):
        if score >= 80:
            return Severity.HIGH
        if score >= 60:
            return Severity.MEDIUM
        return Severity.LOW
    return Severity.HIGH


class YaraScanner:
    """Implements ``Scanner`` by matching every file of the wheel against the rules of one directory.

    The rules are compiled on first use and shared through the per-directory cache.
    """

    name = _SCANNER

    def __init__(self, directory: Path, timeout_seconds: int = 10) -> None:
        self.directory = directory
        self._timeout = timeout_seconds

    def scan(self, wheel: Path, unpacked: Path) -> list[Finding]:
        """Findings for each rule that matches a file, with the first match offset as evidence."""
        scanner = yara_x.Scanner(compile_rules(self.directory).rules)
        scanner.set_timeout(self._timeout)
        findings: list[Finding] = []
        for path in iter_files(unpacked):
            if path.stat().st_size > MAX_SCAN_BYTES:
                continue
            name = relative(path, unpacked)
            data = path.read_bytes()
            scanner.set_global("filename", path.name)
            scanner.set_global("filepath", name)
            scanner.set_global("extension", path.suffix)
            scanner.set_global("filetype", path.suffix.lstrip(".").upper())
            try:
                results = scanner.scan(data)
            except yara_x.TimeoutError:
                findings.append(
                    Finding(
                        rule_id="yara/timeout",
                        severity=Severity.LOW,
                        file=name,
                        message="YARA scan timed out",
                        scanner=_SCANNER,
                    )
                )
                continue
            for rule in results.matching_rules:
                findings.append(self._finding(rule, name, data))
        return findings

    @staticmethod
    def _finding(rule: yara_x.Rule, file: str, data: bytes) -> Finding:
        metadata = dict(rule.metadata)
        first = next((m for p in rule.patterns for m in p.matches), None)
        evidence = ""
        if first is not None:
            evidence = data[first.offset : first.offset + min(first.length, 120)].decode("latin-1")
        description = metadata.get("description")
        return Finding(
            rule_id=f"yara/{rule.namespace}/{rule.identifier}"
            if rule.namespace != "default"
            else f"yara/{rule.identifier}",
            severity=_severity(metadata),
            file=file,
            offset=first.offset if first is not None else None,
            message=str(description) if description else f"matches YARA rule {rule.identifier}",
            scanner=_SCANNER,
            evidence=evidence,
        )
