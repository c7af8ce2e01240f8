"""The ArtifactStorage contract, held by the filesystem and S3 (moto's server on loopback) backends."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import opendal
import pytest

from pyregistry_application.ports import ArtifactStorage
from pyregistry_domain.errors import NotFound
from pyregistry_infrastructure.blob_storage.opendal_storage import INCOMPLETE_PREFIX, OpenDalStorage
from tests.support.s3 import S3Server


def test_put_read_stat_list_delete(storage: ArtifactStorage, tmp_path: Path) -> None:
    source = tmp_path / "wheel.whl"
    source.write_bytes(b"wheel-bytes" * 1000)
    storage.put_file("t1/pkg/a/wheel.whl", source)
    storage.put_bytes("t1/pkg/a/wheel.whl.metadata", b"Name: pkg\n")
    assert storage.put_stream("t2/other/b/x.tar.gz", iter([b"abc", b"", b"def"])) == 6
    assert storage.read_bytes("t1/pkg/a/wheel.whl") == source.read_bytes()
    assert b"".join(storage.iter_chunks("t1/pkg/a/wheel.whl", chunk_size=4096)) == source.read_bytes()
    info = storage.stat("t1/pkg/a/wheel.whl")
    assert info is not None and info.size == 11000
    assert storage.stat("t1/missing") is None
    assert sorted(storage.list_keys("t1/")) == ["t1/pkg/a/wheel.whl", "t1/pkg/a/wheel.whl.metadata"]
    assert sorted(storage.list_keys()) == [
        "t1/pkg/a/wheel.whl",
        "t1/pkg/a/wheel.whl.metadata",
        "t2/other/b/x.tar.gz",
    ]
    storage.delete("t1/pkg/a/wheel.whl")
    storage.delete("t1/pkg/a/wheel.whl")
    assert storage.stat("t1/pkg/a/wheel.whl") is None
    with pytest.raises(NotFound):
        storage.read_bytes("t1/pkg/a/wheel.whl")
    with pytest.raises(NotFound):
        storage.iter_chunks("t1/pkg/a/wheel.whl")


def test_reads_of_missing_or_unsafe_keys_are_refused_without_naming_the_key(storage: ArtifactStorage) -> None:
    storage.put_bytes("t1/pkg/a/one.whl", b"one")
    for missing in ("t1/pkg/a/two.whl", "t1/pkg/a", "t1/pkg/a/one.whl/inner"):
        with pytest.raises(NotFound) as refused:
            storage.read_bytes(missing)
        assert "t1" not in str(refused.value)
    for unsafe in ("../outside", "/etc/passwd", "t1/../t2/x", ""):
        with pytest.raises(ValueError, match="unsafe storage key"):
            storage.read_bytes(unsafe)
    assert storage.read_bytes("t1/pkg/a/one.whl") == b"one"


def test_empty_blob_is_stored(storage: ArtifactStorage) -> None:
    assert storage.put_stream("t/empty", iter([])) == 0
    assert storage.read_bytes("t/empty") == b""
    assert storage.stat("t/empty").size == 0  # type: ignore[union-attr]


def test_interrupted_write_publishes_nothing(storage: ArtifactStorage) -> None:
    storage.put_bytes("t/kept", b"old")

    def failing() -> Iterator[bytes]:
        yield b"x" * (6 * 1024 * 1024)
        raise OSError("client went away")

    with pytest.raises(OSError, match="client went away"):
        storage.put_stream("t/partial", failing())
    assert storage.stat("t/partial") is None
    assert list(storage.list_keys()) == ["t/kept"]
    assert storage.remove_incomplete() == 0
    assert storage.read_bytes("t/kept") == b"old"


def test_unsafe_keys_are_refused(storage: ArtifactStorage) -> None:
    for key in ["", "/abs", "a/../b", "a//b", "./a"]:
        with pytest.raises(ValueError, match="unsafe storage key"):
            storage.put_bytes(key, b"x")


_STREAM_PROBE = """
import hashlib, json, resource, sys
from pathlib import Path
from pyregistry_infrastructure.blob_storage.opendal_storage import OpenDalStorage
scheme, options, source = sys.argv[1], json.loads(sys.argv[2]), Path(sys.argv[3])
storage = OpenDalStorage.filesystem(Path(options["root"])) if scheme == "fs" else OpenDalStorage(scheme, options)
storage.put_bytes("warm/up", b"x")
b"".join(storage.iter_chunks("warm/up"))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
storage.put_file("big/file.whl", source)
digest = hashlib.sha256()
for chunk in storage.iter_chunks("big/file.whl"):
    digest.update(chunk)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"growth_kib": after - before, "sha256": digest.hexdigest()}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["fs", "s3"])
def test_large_files_stream_without_whole_file_buffers(
    scheme: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    size = 96 * 1024 * 1024
    source = tmp_path / "big.whl"
    block = hashlib.sha256(b"seed").digest() * 32768
    with source.open("wb") as handle:
        for _ in range(size // len(block)):
            handle.write(block)
    if scheme == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        options = server.options(server.new_bucket())
    else:
        options = {"root": str(tmp_path / "blobs")}
    result = subprocess.run(
        [sys.executable, "-c", _STREAM_PROBE, scheme, json.dumps(options), str(source)],
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    assert report["sha256"] == expected
    assert report["growth_kib"] < 40 * 1024, f"peak memory grew {report['growth_kib']} KiB for a 96 MiB file"


@pytest.mark.slow
def test_s3_remove_incomplete_deletes_only_aged_incomplete_uploads(s3_server: S3Server) -> None:
    options = s3_server.options(s3_server.new_bucket())
    raw = opendal.Operator("s3", **options)
    storage = OpenDalStorage("s3", options)
    storage.put_bytes("t/kept.whl", b"visible")
    raw.write(f"{INCOMPLETE_PREFIX}crashed-upload", b"x" * 1024)
    time.sleep(3)
    raw.write(f"{INCOMPLETE_PREFIX}in-flight-upload", b"y")
    assert storage.remove_incomplete() == 0
    assert storage.remove_incomplete(older_than=timedelta(seconds=1.5)) == 1
    remaining = sorted(entry.path for entry in raw.list(INCOMPLETE_PREFIX, recursive=True))
    assert [path for path in remaining if not path.endswith("/")] == [f"{INCOMPLETE_PREFIX}in-flight-upload"]
    assert list(storage.list_keys()) == ["t/kept.whl"]
    assert storage.remove_incomplete(older_than=timedelta(0)) == 1
    assert storage.read_bytes("t/kept.whl") == b"visible"
    assert [entry.path for entry in raw.list(INCOMPLETE_PREFIX, recursive=True) if not entry.path.endswith("/")] == []
