"""Scratch directories: a dead process's temporaries go at once, a live one's never, strays after a grace period."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from pyregistry_infrastructure.blob_storage.opendal_storage import INCOMPLETE_PREFIX, OpenDalStorage
from pyregistry_infrastructure.scratch import LOCK_SUFFIX, ScratchSpace

_HOLDER = """
import sys, time
from pathlib import Path
from pyregistry_infrastructure.scratch import ScratchSpace
space = ScratchSpace(Path(sys.argv[1]))
(space.subdirectory("uploads") / "upload-live.part").write_bytes(b"in flight")
print(space.owner, flush=True)
time.sleep(60)
"""


def _holder(root: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-c", _HOLDER, str(root)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def _age(path: Path, seconds: float) -> None:
    old = time.time() - seconds
    for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(item, (old, old), follow_symlinks=False)


@pytest.mark.slow
def test_sweep_keeps_live_owners_and_removes_killed_ones(tmp_path: Path) -> None:
    live, live_owner = _holder(tmp_path)
    dead, dead_owner = _holder(tmp_path)
    try:
        dead.send_signal(signal.SIGKILL)
        dead.wait(timeout=10)
        assert (tmp_path / dead_owner / "uploads" / "upload-live.part").exists()
        sweeper = ScratchSpace(tmp_path)
        assert sweeper.sweep() == 1
        assert not (tmp_path / dead_owner).exists()
        assert not (tmp_path / f"{dead_owner}{LOCK_SUFFIX}").exists()
        assert (tmp_path / live_owner / "uploads" / "upload-live.part").read_bytes() == b"in flight"
    finally:
        live.kill()
        live.wait(timeout=10)


def test_ownerless_leftovers_go_only_after_the_grace_period(tmp_path: Path) -> None:
    stale_dir = tmp_path / "uploads"
    stale_dir.mkdir()
    (stale_dir / "upload-old.part").write_bytes(b"x")
    fresh = tmp_path / "mirror-fresh"
    fresh.write_bytes(b"y")
    _age(stale_dir, 3600)
    space = ScratchSpace(tmp_path)
    assert space.sweep(grace=timedelta(minutes=5)) == 1
    assert not stale_dir.exists()
    assert fresh.exists()


def test_own_directory_survives_sweeps_and_is_released(tmp_path: Path) -> None:
    space = ScratchSpace(tmp_path)
    spooled = space.subdirectory("uploads") / "a.part"
    spooled.write_bytes(b"mine")
    assert ScratchSpace(tmp_path).sweep() == 0
    assert space.sweep() == 0
    assert spooled.exists()
    space.release()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_many_processes_sweeping_at_once_never_delete_a_live_file(tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from pyregistry_infrastructure.scratch import ScratchSpace;"
        "s = ScratchSpace(Path(sys.argv[1])); p = s.subdirectory('uploads') / 'f.part'; p.write_bytes(b'1');"
        "[s.sweep() for _ in range(20)]; assert p.read_bytes() == b'1'; print('ok')"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    outputs = [process.communicate(timeout=60)[0].strip() for process in processes]
    assert outputs == ["ok"] * 6
    assert ScratchSpace(tmp_path).sweep() == 0
    assert [path for path in tmp_path.iterdir() if not path.name.endswith(LOCK_SUFFIX)] == []


@pytest.mark.slow
def test_storage_removes_a_dead_writers_incomplete_blobs_at_once(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    script = (
        "import os, sys\nfrom pathlib import Path\n"
        "from pyregistry_infrastructure.blob_storage.opendal_storage import OpenDalStorage\n"
        "def chunks():\n    yield b'x' * 1024 * 1024\n    yield b'y' * 1024 * 1024\n    os.kill(os.getpid(), 9)\n"
        "OpenDalStorage.filesystem(Path(sys.argv[1])).put_stream('t/p/blob', chunks())\n"
    )
    subprocess.run([sys.executable, "-c", script, str(root)], check=False, timeout=60)
    leftovers = [path for path in (root / INCOMPLETE_PREFIX).rglob("*") if path.is_file()]
    assert any(not path.name.endswith(LOCK_SUFFIX) for path in leftovers)
    storage = OpenDalStorage.filesystem(root)
    storage.put_bytes("t/p/other", b"kept")
    assert storage.remove_incomplete() >= 1
    assert [path for path in (root / INCOMPLETE_PREFIX).rglob("*") if path.is_file() and "lock" not in path.name] == []
    assert list(storage.list_keys()) == ["t/p/other"]
