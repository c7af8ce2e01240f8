"""SQLite's stamp reads are remembered until the database changes, and never served past a change."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from pyregistry_application.index_versions import DownloadInputs, StampInputs
from pyregistry_domain.project_status import ACTIVE
from pyregistry_infrastructure.metadata_stores.awaited_stamps import InPlaceStampReads, RememberedStampReads
from pyregistry_infrastructure.metadata_stores.memory_state import MemoryState
from pyregistry_infrastructure.metadata_stores.memory_tokens import MemoryTokenStore
from pyregistry_infrastructure.metadata_stores.sqlite import SqliteDatabase


class CountingVersions:
    """An ``IndexVersions`` stand-in that counts the reads the memo lets through."""

    def __init__(self) -> None:
        self.stamp_reads = 0
        self.download_reads = 0

    def stamp_inputs(self, key_id: str, tenant_slug: str, normalized_name: str | None) -> StampInputs:
        self.stamp_reads += 1
        return StampInputs(token=None, tenant=None, listing_version=str(self.stamp_reads), project=None)

    def download_inputs(self, key_id: str, tenant_slug: str, normalized_name: str, filename: str) -> DownloadInputs:
        self.download_reads += 1
        return DownloadInputs(token=None, tenant=None, file=None, status=ACTIVE)


def _reads(versions: CountingVersions, version: list[int], capacity: int = 4096) -> RememberedStampReads:
    tokens = MemoryTokenStore(MemoryState())
    return RememberedStampReads(versions, tokens, lambda: version[0], capacity)  # type: ignore[arg-type]


def test_answers_are_kept_per_key_until_the_version_moves() -> None:
    versions, version = CountingVersions(), [1]
    reads = _reads(versions, version)

    async def ask() -> list[str]:
        answers = []
        for _ in range(3):
            answers.append((await reads.stamp_inputs("k1", "acme", None)).listing_version)
        answers.append((await reads.stamp_inputs("k1", "acme", "tools")).listing_version)
        answers.append((await reads.stamp_inputs("k2", "acme", None)).listing_version)
        await reads.download_inputs("k1", "acme", "tools", "tools-1.0.tar.gz")
        await reads.download_inputs("k1", "acme", "tools", "tools-1.0.tar.gz")
        version[0] = 2
        answers.append((await reads.stamp_inputs("k1", "acme", None)).listing_version)
        await reads.download_inputs("k1", "acme", "tools", "tools-1.0.tar.gz")
        return answers

    assert asyncio.run(ask()) == ["1", "1", "1", "2", "3", "4"]
    assert (versions.stamp_reads, versions.download_reads) == (4, 2)


def test_a_full_memo_starts_afresh() -> None:
    versions = CountingVersions()
    reads = _reads(versions, [7], capacity=2)

    async def ask() -> None:
        for key in ("a", "b", "c", "a"):
            await reads.stamp_inputs(key, "acme", None)

    asyncio.run(ask())
    assert versions.stamp_reads == 4


def test_the_data_version_moves_with_commits_from_this_and_other_processes(tmp_path: Path) -> None:
    path = tmp_path / "registry.db"
    db = SqliteDatabase(path)
    try:
        first = db.data_version()
        assert db.data_version() == first
        with db.write() as conn:
            conn.execute("UPDATE serial_counter SET value = value + 1 WHERE id = 1")
        after_own = db.data_version()
        assert after_own != first
        script = f"import sqlite3; sqlite3.connect({str(path)!r}, isolation_level=None).execute('{_BUMP}')"
        subprocess.run([sys.executable, "-c", script], check=True)
        assert db.data_version() not in (first, after_own)
    finally:
        db.close()


_BUMP = "UPDATE serial_counter SET value = value + 1 WHERE id = 1"


def test_only_a_file_database_remembers(tmp_path: Path) -> None:
    versions, tokens = CountingVersions(), MemoryTokenStore(MemoryState())
    on_disk, in_memory = SqliteDatabase(tmp_path / "registry.db"), SqliteDatabase(":memory:")
    try:
        assert isinstance(on_disk.awaited_stamp_reads(versions, tokens), RememberedStampReads)  # type: ignore[arg-type]
        in_place = in_memory.awaited_stamp_reads(versions, tokens)  # type: ignore[arg-type]
        assert isinstance(in_place, InPlaceStampReads) and not isinstance(in_place, RememberedStampReads)
    finally:
        on_disk.close()
        in_memory.close()
