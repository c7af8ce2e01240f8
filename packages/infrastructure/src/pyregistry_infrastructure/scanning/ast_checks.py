"""Python source analysis with the standard ``ast`` module.

It catches what FoxGuard misses, notably constant shell commands such as ``os.system("curl … | sh")``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from pyregistry_application.security.findings import Finding, Severity
from pyregistry_infrastructure.scanning.files import MAX_SCAN_BYTES, iter_files, relative

__all__ = ["AstScanner", "scan_python_source"]

_SCANNER = "ast"
_EXEC_FUNCS = {"exec", "eval", "compile"}
_DECODERS = {
    "b64decode",
    "b32decode",
    "b16decode",
    "a85decode",
    "b85decode",
    "decodebytes",
    "urlsafe_b64decode",
    "decompress",
    "unhexlify",
    "fromhex",
    "loads",
    "urlopen",
    "read",
    "get",
    "post",
    "decode",
}
_PAYLOAD_MODULES = {"base64", "zlib", "bz2", "lzma", "marshal", "binascii", "codecs"}
_SHELL_CALLS = {
    "os.system",
    "os.popen",
    "os.execl",
    "os.execlp",
    "os.execv",
    "os.execvp",
    "os.spawnl",
    "os.spawnlp",
    "subprocess.run",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "subprocess.Popen",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
}
_NETWORK_TOOLS = re.compile(
    r"\b(curl|wget|nc|ncat|netcat|socat|telnet|ftp|tftp|scp|ssh|powershell|invoke-webrequest|iwr|certutil|bitsadmin)\b"
    r"|/dev/tcp/|\|\s*(ba|z|da)?sh\b|https?://",
    re.IGNORECASE,
)
_NETWORK_CALLS = {
    "urllib.request.urlopen",
    "urllib.request.urlretrieve",
    "urlopen",
    "urlretrieve",
    "requests.get",
    "requests.post",
    "requests.put",
    "requests.request",
    "httpx.get",
    "httpx.post",
    "http.client.HTTPConnection",
    "http.client.HTTPSConnection",
    "socket.create_connection",
}
_LONG_PAYLOAD = 200
_LONG_LINE = 2000


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    return ""


def _constant_strings(node: ast.AST) -> list[str]:
    found = []
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str | bytes):
            value = child.value
            found.append(value.decode("latin-1") if isinstance(value, bytes) else value)
    return found


def _calls_decoder(node: ast.AST) -> str | None:
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            name = _dotted(child.func)
            if name.rsplit(".", 1)[-1] in _DECODERS:
                return name
    return None


class _Visitor(ast.NodeVisitor):
    def __init__(self, file: str, source: str) -> None:
        self.file = file
        self.lines = source.splitlines()
        self.findings: list[Finding] = []
        self.aliases: dict[str, str] = {}
        self.depth = 0

    def _add(self, rule: str, severity: Severity, node: ast.AST, message: str) -> None:
        line = getattr(node, "lineno", None)
        evidence = self.lines[line - 1].strip()[:200] if line and line <= len(self.lines) else ""
        self.findings.append(
            Finding(
                rule_id=rule,
                severity=severity,
                file=self.file,
                line=line,
                message=message,
                scanner=_SCANNER,
                evidence=evidence,
            )
        )

    def _qualified(self, node: ast.AST) -> str:
        name = _dotted(node)
        head, _, rest = name.partition(".")
        if head in self.aliases:
            return f"{self.aliases[head]}.{rest}" if rest else self.aliases[head]
        return name

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.aliases[alias.asname or alias.name.split(".")[0]] = (
                alias.name if alias.asname else alias.name.split(".")[0]
            )
            if alias.name.split(".")[0] == "ctypes":
                self._add("PY-CTYPES", Severity.MEDIUM, node, "imports ctypes (native code loading)")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for alias in node.names:
            self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}" if module else alias.name
        if module.split(".")[0] == "ctypes":
            self._add("PY-CTYPES", Severity.MEDIUM, node, "imports ctypes (native code loading)")
        self.generic_visit(node)

    def _visit_scope(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = _visit_scope
    visit_AsyncFunctionDef = _visit_scope
    visit_Lambda = _visit_scope

    def visit_Call(self, node: ast.Call) -> None:
        name = self._qualified(node.func)
        short = name.rsplit(".", 1)[-1]
        if name in _EXEC_FUNCS or (short in _EXEC_FUNCS and name.startswith("builtins")):
            self._check_exec(node, name)
        if name in _SHELL_CALLS:
            self._check_shell(node, name)
        if name in _NETWORK_CALLS and self.depth == 0:
            self._add("PY-NETWORK-AT-IMPORT", Severity.HIGH, node, f"{name}() runs when the module is imported")
        if name.startswith("socket.") and short in {"socket", "create_connection"}:
            self._add("PY-SOCKET", Severity.MEDIUM, node, f"opens a raw socket with {name}()")
        if name.split(".")[0] in _PAYLOAD_MODULES and short in _DECODERS:
            self._check_payload(node, name)
        if name in {"pickle.loads", "marshal.loads", "cPickle.loads"}:
            self._add("PY-DESERIALIZE", Severity.HIGH, node, f"{name}() can execute arbitrary code")
        if name == "__import__" and node.args and not isinstance(node.args[0], ast.Constant):
            self._add("PY-OBFUSCATED-IMPORT", Severity.MEDIUM, node, "__import__ of a computed module name")
        self.generic_visit(node)

    def _check_exec(self, node: ast.Call, name: str) -> None:
        if not node.args:
            return
        argument = node.args[0]
        decoder = _calls_decoder(argument)
        if decoder is not None:
            self._add("PY-EXEC-DECODED", Severity.CRITICAL, node, f"{name}() of data produced by {decoder}()")
        elif not isinstance(argument, ast.Constant):
            self._add("PY-DYNAMIC-EXEC", Severity.MEDIUM, node, f"{name}() of a computed value")

    def _check_shell(self, node: ast.Call, name: str) -> None:
        strings = [s for arg in [*node.args, *(k.value for k in node.keywords)] for s in _constant_strings(arg)]
        command = " ".join(strings)
        if _NETWORK_TOOLS.search(command):
            self._add(
                "PY-SHELL-NETWORK", Severity.CRITICAL, node, f"{name}() runs a network tool or pipes into a shell"
            )
        elif strings:
            self._add("PY-SHELL-COMMAND", Severity.MEDIUM, node, f"{name}() runs a shell command")

    def _check_payload(self, node: ast.Call, name: str) -> None:
        longest = max((len(s) for arg in node.args for s in _constant_strings(arg)), default=0)
        if longest >= _LONG_PAYLOAD:
            self._add("PY-ENCODED-PAYLOAD", Severity.HIGH, node, f"{name}() of a {longest}-character embedded payload")
        elif name.startswith("marshal."):
            self._add("PY-MARSHAL", Severity.HIGH, node, f"{name}() loads code objects")


def scan_python_source(source: str, file: str) -> list[Finding]:
    """Findings for one Python source text."""
    try:
        tree = ast.parse(source, filename=file)
    except (SyntaxError, ValueError) as exc:
        return [
            Finding(
                rule_id="PY-UNPARSABLE",
                severity=Severity.LOW,
                file=file,
                line=getattr(exc, "lineno", None),
                message=f"not valid Python 3 source: {exc.__class__.__name__}",
                scanner=_SCANNER,
            )
        ]
    visitor = _Visitor(file, source)
    visitor.visit(tree)
    for number, line in enumerate(visitor.lines, start=1):
        if len(line) > _LONG_LINE:
            visitor.findings.append(
                Finding(
                    rule_id="PY-OBFUSCATED-LINE",
                    severity=Severity.MEDIUM,
                    file=file,
                    line=number,
                    message=f"a {len(line)}-character line (typical of obfuscated code)",
                    scanner=_SCANNER,
                    evidence=line[:120],
                )
            )
    return visitor.findings


class AstScanner:
    """Implements ``Scanner`` over every ``.py`` file of the wheel."""

    name = _SCANNER

    def scan(self, wheel: Path, unpacked: Path) -> list[Finding]:
        """Parse each module and report dangerous constructs."""
        findings: list[Finding] = []
        for path in iter_files(unpacked):
            if path.suffix != ".py" or path.stat().st_size > MAX_SCAN_BYTES:
                continue
            source = path.read_bytes().decode("utf-8", errors="replace")
            findings.extend(scan_python_source(source, relative(path, unpacked)))
        return findings
