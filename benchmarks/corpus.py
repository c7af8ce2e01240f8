"""The benchmark corpus: many tiny real wheels plus one large one, and a bulk loader for pyregistry."""

from __future__ import annotations

import base64
import hashlib
import os
import sys
import time
import zipfile
from pathlib import Path

__all__ = ["Corpus", "build_corpus", "bulk_load_pyregistry", "registry_settings", "tiny_wheel"]

ROOT = Path(__file__).resolve().parent.parent
WHEEL_META = b"Wheel-Version: 1.0\nGenerator: pyregistry-bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


class Corpus:
    """Where the generated files live."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.small = root / "small"
        self.wide = root / "wide"
        self.big = root / "big"
        self.fresh = root / "fresh"

    def small_files(self) -> list[Path]:
        return sorted(self.small.glob("*.whl"))

    def wide_files(self) -> list[Path]:
        return sorted(self.wide.glob("*.whl"))

    def big_file(self) -> Path:
        return next(self.big.glob("*.whl"))

    def fresh_files(self) -> list[Path]:
        return sorted(self.fresh.glob("*.whl"))


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def tiny_wheel(out: Path, name: str, version: str, payload: bytes | None = None) -> Path:
    """A valid py3-none-any wheel; ``payload`` (stored uncompressed) makes it as large as wanted."""
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: bench\nRequires-Python: >=3.8\n"
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{dist_info}/METADATA": metadata.encode(),
        f"{dist_info}/WHEEL": WHEEL_META,
    }
    if payload is not None:
        files[f"{module}/payload.bin"] = payload
    record = [_record_line(path, data) for path, data in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    target = out / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return target


def build_corpus(root: Path, projects: int, versions: int, wide: int, big_mb: int) -> Corpus:
    """Generate once (a marker file records the shape); reuse on later runs."""
    corpus = Corpus(root)
    marker = root / f"corpus-{projects}x{versions}-w{wide}-b{big_mb}.done"
    if marker.exists():
        return corpus
    started = time.monotonic()
    for folder in (corpus.small, corpus.wide, corpus.big, corpus.fresh):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.whl"):
            old.unlink()
    for number in range(projects):
        for version in range(versions):
            tiny_wheel(corpus.small, f"proj{number:04d}", f"1.{version}.0")
    for number in range(wide):
        tiny_wheel(corpus.wide, f"wide{number:05d}", "1.0.0")
    for number in range(100):
        tiny_wheel(corpus.fresh, f"fresh{number:03d}", "1.0.0")
    tiny_wheel(corpus.big, "bigproj", "1.0.0", payload=os.urandom(big_mb * 1024 * 1024))
    marker.write_text("ok\n")
    print(f"corpus generated in {time.monotonic() - started:.0f} s under {root}", file=sys.stderr)
    return corpus


def registry_settings(workdir: Path, postgres_url: str | None = None):
    """Settings equal to what ``pyregistry serve`` run in ``workdir`` with the benchmark environment uses
    (``postgres_url``: the metadata on that PostgreSQL database instead of SQLite)."""
    from pyregistry_infrastructure.settings import PostgresSettings, Settings, SqliteSettings

    data = workdir / ".pyregistry"
    database = {}
    if postgres_url is not None:
        database = {"database_store": "postgres", "postgres": PostgresSettings(connection_url=postgres_url)}
    return Settings(
        data_dir=str(data),
        blob_root=str(data / "blobs"),
        sqlite=SqliteSettings(path=str(data / "pyregistry.sqlite3")),
        superadmin_password="bench-admin-password",
        cookie_secret="bench-cookie-secret-bench-cookie-secret",
        **database,
    )


def bulk_load_pyregistry(
    workdir: Path, tenants: dict[str, list[Path]], postgres_url: str | None = None
) -> dict[str, str]:
    """Create tenants and publish every file through the upload use case (no HTTP); return read tokens.

    This is setup only: it exercises the same validation and storage code as a twine upload, minus the
    network and multipart parsing, so loading 30,000 files takes minutes instead of an hour.
    """
    from pyregistry_application.dto import UploadCommand
    from pyregistry_application.spooled_files import spooled_file
    from pyregistry_bootstrap.wiring import build_runtime

    runtime = build_runtime(registry_settings(workdir, postgres_url))
    services = runtime.services
    tokens: dict[str, str] = {}
    for slug, files in tenants.items():
        services.tenants.create_tenant(
            slug=slug, display_name=slug, admin_email=None, admin_password=None, mirroring_enabled=False, actor="bench"
        )
        publish = services.tokens.issue(tenant_slug=slug, name="loader", scopes=["publish"], actor="bench")
        tokens[slug] = services.tokens.issue(
            tenant_slug=slug, name="reader", scopes=["read", "publish"], actor="bench"
        ).secret
        started = time.monotonic()
        for count, path in enumerate(files, 1):
            name, version = path.name.split("-")[:2]
            upload = spooled_file(path, path.name)
            fields = {
                ":action": ["file_upload"],
                "name": [name],
                "version": [version],
                "filetype": ["bdist_wheel"],
                "sha256_digest": [upload.sha256],
            }
            services.uploads.execute(
                UploadCommand(tenant_slug=slug, token_secret=publish.secret, fields=fields, content=upload)
            )
            if count % 2000 == 0:
                rate = count / (time.monotonic() - started)
                print(f"  {slug}: {count}/{len(files)} files loaded ({rate:.0f}/s)", file=sys.stderr)
    return tokens
