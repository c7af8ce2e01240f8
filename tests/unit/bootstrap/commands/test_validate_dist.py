"""``pyregistry validate-dist``: crafted bad archives are refused, good ones pass (real CLI subprocess)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.support.dists import build_sdist, build_wheel, sha256_of
from tests.support.server import pyregistry_exe

pytestmark = pytest.mark.slow  # every test runs the CLI in a subprocess


def validate(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYREGISTRY_CONFIG"}
    return subprocess.run(
        [pyregistry_exe(), "validate-dist", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


def _tar(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for member in members:
            content = (data or {}).get(member.name)
            if content is not None:
                member.size = len(content)
            archive.addfile(member, io.BytesIO(content) if content is not None else None)
    return path


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info


def _crafted(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    traversal = tmp_path / "traversal-1.0-py3-none-any.whl"
    with zipfile.ZipFile(traversal, "w") as archive:
        archive.writestr("pkg/__init__.py", b"")
        archive.writestr("../../etc/cron.d/evil", b"* * * * * root sh\n")
    duplicate = tmp_path / "dup-1.0.zip"
    with zipfile.ZipFile(duplicate, "w") as archive:
        archive.writestr("dup-1.0/PKG-INFO", b"a")
        with pytest.warns(UserWarning):
            archive.writestr("dup-1.0/PKG-INFO", b"b")
    bomb = tmp_path / "bomb-1.0-py3-none-any.whl"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("bomb/zeros.bin", b"\0" * (48 * 1024 * 1024))
    truncated = tmp_path / "cut-1.0-py3-none-any.whl"
    whole = build_wheel(tmp_path / "whole", "cut", "1.0", module_source="X = 1\n" * 5000).read_bytes()
    truncated.write_bytes(whole[: len(whole) // 2])
    zip_flipped = tmp_path / "zflip-1.0-py3-none-any.whl"
    zbytes = bytearray(whole)
    zbytes[200] ^= 0xFF
    zip_flipped.write_bytes(bytes(zbytes))
    flipped = tmp_path / "flip-1.0.tar.gz"
    raw = bytearray(build_sdist(tmp_path / "flip", "flip", "1.0").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    flipped.write_bytes(bytes(raw))
    escape = _tar(tmp_path / "link-1.0.tar.gz", [_symlink("link-1.0/passwd", "../../../etc/passwd")])
    absolute = _tar(tmp_path / "abs-1.0.tgz", [_symlink("abs-1.0/passwd", "/etc/passwd")])
    device = tarfile.TarInfo("dev-1.0/null")
    device.type = tarfile.CHRTYPE
    special = _tar(tmp_path / "dev-1.0.tar.gz", [device])
    not_archive = tmp_path / "plain-1.0.tar.gz"
    not_archive.write_bytes(b"this is not gzip at all")
    return {
        "traversal": (traversal, "traversal"),
        "duplicate": (duplicate, "duplicate"),
        "bomb": (bomb, "bomb"),
        "truncated": (truncated, "not a readable zip"),
        "zip bit flip": (zip_flipped, "corrupt"),
        "flipped": (flipped, "corrupt"),
        "link escape": (escape, "outside the archive"),
        "absolute link": (absolute, "outside the archive"),
        "device": (special, "special file"),
        "not an archive": (not_archive, "unsupported"),
    }


def test_crafted_bad_archives_are_refused(tmp_path: Path) -> None:
    for label, (path, reason) in _crafted(tmp_path).items():
        result = validate(tmp_path, "--file", str(path), "--json")
        assert result.returncode == 1, (label, result.stdout, result.stderr)
        report = json.loads(result.stdout)
        assert report["status"] == "corrupt", (label, report)
        assert reason in report["detail"].lower(), (label, report["detail"])
        assert "Traceback" not in result.stderr


def test_good_distributions_pass_with_and_without_digest(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "good", "1.0.0")
    sdist = build_sdist(tmp_path, "good", "1.0.0")
    for path in (wheel, sdist):
        result = validate(tmp_path, "--file", str(path), "--sha256", sha256_of(path).upper())
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.startswith("OK")
        assert f"sha256 {sha256_of(path)}" in result.stdout
    assert validate(tmp_path, "--file", str(wheel)).returncode == 0


def test_checksum_mismatch_and_unsupported_format(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "good", "1.0.0")
    mismatch = validate(tmp_path, "--file", str(wheel), "--sha256", "0" * 64, "--json")
    assert mismatch.returncode == 1
    assert json.loads(mismatch.stdout)["status"] == "checksum-mismatch"
    other = tmp_path / "good-1.0.0.rar"
    other.write_bytes(b"Rar!\x1a\x07\x00")
    unsupported = validate(tmp_path, "--file", str(other))
    assert unsupported.returncode == 1
    assert unsupported.stdout.startswith("UNSUPPORTED")
    missing = validate(tmp_path, "--file", str(tmp_path / "absent.whl"))
    assert missing.returncode != 0
    assert "Traceback" not in missing.stderr
