"""Recording the upload times (PEP 700) an upstream index gives for its files, for the release cooldown."""

from __future__ import annotations

from contextlib import AbstractContextManager

from pyregistry_application.mirror_ports import UpstreamIndex, UpstreamProject, UpstreamStream
from pyregistry_application.release_policy_ports import ReleasePolicyStore

__all__ = ["UploadTimeRecorder"]


class UploadTimeRecorder:
    """An :class:`UpstreamIndex` that passes every call on and records the upload times of each project page it
    fetches (the first time seen for a filename is kept)."""

    def __init__(self, upstream: UpstreamIndex, store: ReleasePolicyStore) -> None:
        self._upstream = upstream
        self._store = store

    def fetch_project(self, normalized_name: str) -> UpstreamProject:
        """The upstream page, its files' upload times recorded."""
        page = self._upstream.fetch_project(normalized_name)
        times = {entry.filename: entry.upload_time for entry in page.files if entry.upload_time is not None}
        if times:
            self._store.record_upload_times(times)
        return page

    def fetch_bytes(self, url: str) -> bytes:
        """Passed on."""
        return self._upstream.fetch_bytes(url)

    def open_file(self, url: str) -> AbstractContextManager[UpstreamStream]:
        """Passed on."""
        return self._upstream.open_file(url)

    def close(self) -> None:
        """Passed on."""
        self._upstream.close()
