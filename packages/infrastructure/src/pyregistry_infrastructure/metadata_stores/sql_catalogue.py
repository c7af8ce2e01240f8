"""The SQL catalogue: its reads and writes on one database."""

from __future__ import annotations

from pyregistry_infrastructure.metadata_stores.sql_base import SqlDatabase
from pyregistry_infrastructure.metadata_stores.sql_catalogue_reads import SqlCatalogueReader
from pyregistry_infrastructure.metadata_stores.sql_catalogue_writes import SqlCatalogueWriter

__all__ = ["SqlCatalogue"]


class SqlCatalogue(SqlCatalogueReader, SqlCatalogueWriter):
    """Implements ``Catalogue`` on any :class:`SqlDatabase`."""

    def __init__(self, db: SqlDatabase) -> None:
        SqlCatalogueReader.__init__(self, db)
        SqlCatalogueWriter.__init__(self, db)
