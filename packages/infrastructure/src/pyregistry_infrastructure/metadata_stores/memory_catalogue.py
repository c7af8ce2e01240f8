"""The in-memory catalogue: its reads and writes on one :class:`MemoryState`."""

from __future__ import annotations

from pyregistry_infrastructure.metadata_stores.memory_catalogue_reads import MemoryCatalogueReader
from pyregistry_infrastructure.metadata_stores.memory_catalogue_writes import MemoryCatalogueWriter

__all__ = ["MemoryCatalogue"]


class MemoryCatalogue(MemoryCatalogueReader, MemoryCatalogueWriter):
    """Implements ``Catalogue`` on a :class:`MemoryState`."""
