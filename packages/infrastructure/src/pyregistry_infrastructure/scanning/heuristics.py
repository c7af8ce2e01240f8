"""File-level heuristics: executables, network strings in binaries, install hooks and suspicious metadata."""

from __future__ import annotations

import re
import zipfile
from email.parser import Parser
from email.policy import compat32
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from pyregistry_application.security.findings import Finding, Severity
from pyregistry_domain.names import normalize_project_name
from pyregistry_infrastructure.scanning.ast_checks import scan_python_source
from pyregistry_infrastructure.scanning.files import MAX_SCAN_BYTES, binary_kind, iter_files, relative

__all__ = ["KNOWN_LEGITIMATE", "POPULAR_PROJECTS", "HeuristicScanner", "near_miss"]

_SCANNER = "heuristics"
_EXTENSION_SUFFIXES = (".so", ".pyd", ".dylib", ".dll")
_SCRIPT_SUFFIXES = (".sh", ".bash", ".bat", ".cmd", ".ps1", ".vbs")
_NETWORK_BYTES = re.compile(
    rb"https?://[\x21-\x7e]{4,200}|/dev/tcp/[\x21-\x7e]{1,60}|\b(?:curl|wget) [\x21-\x7e]{4,120}", re.IGNORECASE
)
_PTH_CODE = re.compile(r"\b(exec|eval|compile|b64decode|decompress|__import__|urlopen|subprocess|os\.system)\b")
_ODD_COMMANDS = {"pip", "pip3", "python", "python3", "sudo", "ls", "git", "ssh", "sh", "bash", "curl", "wget", "uv"}
POPULAR_PROJECTS = (
    "requests", "urllib3", "numpy", "pandas", "boto3", "botocore", "setuptools", "six", "certifi", "idna",
    "charset-normalizer", "python-dateutil", "pyyaml", "typing-extensions", "cryptography", "pip", "wheel",
    "jinja2", "markupsafe", "packaging", "attrs", "click", "flask", "django", "pytest", "pydantic", "sqlalchemy",
    "scipy", "matplotlib", "pillow", "colorama", "tqdm", "beautifulsoup4", "lxml", "psycopg2", "pyjwt",
    "werkzeug", "protobuf", "grpcio", "aiohttp", "httpx", "fastapi", "uvicorn", "tensorflow", "torch",
    "scikit-learn", "openai", "selenium", "paramiko", "pycryptodome", "rsa", "websocket-client", "docutils",
)  # fmt: skip


# Real projects whose names sit next to a popular one; they are never reported as imitations.
KNOWN_LEGITIMATE = frozenset(
    {
        "attr", "boto", "cattrs", "fastai", "http", "httpie", "jinja", "numba", "panda", "pipe", "pipenv", "pipx",
        "pyaml", "scapy", "torchx", "unicorn",
    }
)  # fmt: skip
_SHORT = 5
_MEDIUM = 7


def _distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _typo_of(candidate: str, popular: str) -> bool:
    """One slip of the fingers: a doubled letter, a dropped letter, or two neighbouring letters swapped."""
    if len(candidate) == len(popular) + 1:
        return any(
            candidate[:i] + candidate[i + 1 :] == popular and candidate[i] == candidate[i - 1]
            for i in range(1, len(candidate))
        )
    if len(candidate) == len(popular) - 1:
        return any(popular[:i] + popular[i + 1 :] == candidate for i in range(len(popular)))
    if len(candidate) == len(popular):
        return any(
            popular[:i] + popular[i + 1] + popular[i] + popular[i + 2 :] == candidate for i in range(len(popular) - 1)
        )
    return False


def _imitates(candidate: str, popular: str) -> bool:
    squashed, popular_squashed = candidate.replace("-", ""), popular.replace("-", "")
    if squashed == popular_squashed:
        return True
    if candidate.startswith(f"{popular}-") or candidate.endswith(f"-{popular}"):
        return False
    if len(popular) < _SHORT:
        return False
    if len(popular) < _MEDIUM:
        return _typo_of(candidate, popular)
    if _distance(candidate, popular) <= 2:
        return True
    return len(squashed) >= _MEDIUM and sorted(squashed) == sorted(popular_squashed)


def near_miss(name: str) -> str | None:
    """The popular project ``name`` imitates, if any.

    Popular names shorter than five letters have too many real neighbours to judge (pipx, pipe); five- and
    six-letter ones match only a typo (a doubled, dropped or swapped letter: numpyy, djangoo, nupmy), because
    their other one-letter neighbours are mostly real projects (scapy, cattrs); longer ones match within edit
    distance 2 or as an anagram (reqeusts, python-dateutils). Known real projects, the popular ones themselves and
    ``popular-suffix`` plugin names are never reported.
    """
    normalized = normalize_project_name(name)
    if normalized in POPULAR_PROJECTS or normalized in KNOWN_LEGITIMATE or len(normalized) < 4:
        return None
    return next((popular for popular in POPULAR_PROJECTS if _imitates(normalized, popular)), None)


def _finding(
    rule: str,
    severity: Severity,
    file: str,
    message: str,
    *,
    line: int | None = None,
    offset: int | None = None,
    evidence: str = "",
) -> Finding:
    return Finding(
        rule_id=rule,
        severity=severity,
        file=file,
        message=message,
        scanner=_SCANNER,
        line=line,
        offset=offset,
        evidence=evidence,
    )


class HeuristicScanner:
    """Implements ``Scanner`` with file-type, install-hook and metadata heuristics."""

    name = _SCANNER

    def scan(self, wheel: Path, unpacked: Path) -> list[Finding]:
        """Inspect every file plus the zip's permission bits."""
        findings = self._executable_bits(wheel)
        for path in iter_files(unpacked):
            name = relative(path, unpacked)
            if path.stat().st_size > MAX_SCAN_BYTES:
                findings.append(_finding("FILE-TOO-LARGE", Severity.LOW, name, "file too large to scan"))
                continue
            data = path.read_bytes()
            findings.extend(self._binary(name, data))
            findings.extend(self._scripts(name, data))
            if name.endswith(".pth"):
                findings.extend(self._pth(name, data))
            if name.endswith(".dist-info/entry_points.txt"):
                findings.extend(self._entry_points(name, data))
            if name.endswith(".dist-info/METADATA") and name.count("/") == 1:
                findings.extend(self._metadata(name, data))
            if name.rsplit("/", 1)[-1] == "setup.py" or ".data/scripts/" in name:
                findings.append(
                    _finding("INSTALL-HOOK", Severity.LOW, name, "installs or runs a script outside the package")
                )
        return findings

    @staticmethod
    def _executable_bits(wheel: Path) -> list[Finding]:
        if not zipfile.is_zipfile(wheel):
            return []  # an sdist: tar modes are not a packaging signal
        with zipfile.ZipFile(wheel) as archive:
            return [
                _finding("FILE-EXECUTABLE-BIT", Severity.LOW, info.filename, "file has the executable permission bit")
                for info in archive.infolist()
                if (info.external_attr >> 16) & 0o111 and not info.is_dir()
            ]

    @staticmethod
    def _binary(name: str, data: bytes) -> list[Finding]:
        kind = binary_kind(data[:4])
        if kind is None:
            return []
        extension_module = name.lower().endswith(_EXTENSION_SUFFIXES)
        findings = []
        if not extension_module:
            findings.append(
                _finding(
                    "FILE-EMBEDDED-EXECUTABLE", Severity.HIGH, name, f"{kind} executable outside extension modules"
                )
            )
        for match in _NETWORK_BYTES.finditer(data):
            evidence = match.group(0).decode("latin-1")[:200]
            findings.append(
                _finding(
                    "BIN-NETWORK-STRING",
                    Severity.MEDIUM if extension_module else Severity.HIGH,
                    name,
                    f"network address or command inside a {kind} binary",
                    offset=match.start(),
                    evidence=evidence,
                )
            )
            if len(findings) > 20:
                break
        return findings

    @staticmethod
    def _scripts(name: str, data: bytes) -> list[Finding]:
        if name.lower().endswith(_SCRIPT_SUFFIXES) or (data.startswith(b"#!") and not name.endswith(".py")):
            first = data.split(b"\n", 1)[0].decode("latin-1")[:200]
            return [
                _finding("FILE-SHELL-SCRIPT", Severity.MEDIUM, name, "shell script shipped in a wheel", evidence=first)
            ]
        return []

    @staticmethod
    def _pth(name: str, data: bytes) -> list[Finding]:
        findings = []
        text = data.decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.startswith(("import ", "import\t")):
                continue
            suspicious = _PTH_CODE.search(line)
            findings.append(
                _finding(
                    "PTH-EXECUTES-CODE",
                    Severity.CRITICAL if suspicious else Severity.HIGH,
                    name,
                    ".pth line runs code at every interpreter start"
                    + (f" ({suspicious.group(0)})" if suspicious else ""),
                    line=number,
                    evidence=line[:200],
                )
            )
            findings.extend(
                _relocated(f, name, number) for f in scan_python_source(line, name) if f.rule_id != "PY-UNPARSABLE"
            )
        return findings

    @staticmethod
    def _entry_points(name: str, data: bytes) -> list[Finding]:
        findings = []
        section = ""
        for number, raw in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
            line = raw.strip()
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1].strip()
                continue
            if not line or "=" not in line or section not in {"console_scripts", "gui_scripts"}:
                continue
            command = line.split("=", 1)[0].strip()
            if command.lower() in _ODD_COMMANDS:
                findings.append(
                    _finding(
                        "ENTRY-POINT-SHADOWS-COMMAND",
                        Severity.HIGH,
                        name,
                        f"console script {command!r} shadows a common system command",
                        line=number,
                        evidence=line,
                    )
                )
        return findings

    @staticmethod
    def _metadata(name: str, data: bytes) -> list[Finding]:
        message = Parser(policy=compat32).parsestr(data.decode("utf-8", errors="replace"), headersonly=True)
        findings = []
        own = str(message.get("Name") or "").strip()
        imitated = near_miss(own) if own else None
        if imitated:
            findings.append(
                _finding("META-NAME-NEAR-MISS", Severity.MEDIUM, name, f"project name {own!r} resembles {imitated!r}")
            )
        for value in message.get_all("Requires-Dist") or []:
            text = str(value).strip()
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                findings.append(
                    _finding("META-BAD-REQUIREMENT", Severity.LOW, name, "unparsable requirement", evidence=text)
                )
                continue
            if requirement.url:
                findings.append(
                    _finding(
                        "META-DIRECT-URL-DEPENDENCY",
                        Severity.HIGH,
                        name,
                        f"dependency {requirement.name!r} is fetched from a direct URL",
                        evidence=text,
                    )
                )
            imitated = near_miss(requirement.name)
            if imitated:
                findings.append(
                    _finding(
                        "META-DEPENDENCY-NEAR-MISS",
                        Severity.MEDIUM,
                        name,
                        f"dependency {requirement.name!r} resembles the popular project {imitated!r}",
                        evidence=text,
                    )
                )
        return findings


def _relocated(finding: Finding, file: str, line: int) -> Finding:
    """A finding from a one-line parse, relocated to its line in ``file``."""
    return Finding(
        rule_id=finding.rule_id,
        severity=finding.severity,
        file=file,
        line=line,
        message=finding.message,
        scanner=_SCANNER,
        evidence=finding.evidence,
    )
