"""What every SQL store adds to the contract: versioned migrations that are idempotent and safe to race."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pyregistry_infrastructure.metadata_stores.schema_migrations import load_migrations
from tests.contract.conftest import SQL_STORE_PARAMS, open_database

pytestmark = pytest.mark.parametrize("store_location", SQL_STORE_PARAMS, indirect=True)

_OPEN_STORE = """
import sys
from tests.contract.conftest import open_database
store = open_database(sys.argv[1], sys.argv[2], max_connections=2, min_connections=1)
print(",".join(store.applied_migrations()))
store.close()
"""


def test_migrations_apply_once_and_reopen_is_a_no_op(store_location: tuple[str, str]) -> None:
    kind, where = store_location
    expected = [migration_id for migration_id, _ in load_migrations(kind)]
    first = open_database(kind, where, max_connections=2, min_connections=1)
    assert first.applied_migrations() == expected
    first.migrate()
    second = open_database(kind, where, max_connections=2, min_connections=1)
    assert second.applied_migrations() == expected
    assert len(second.rows("SELECT id FROM schema_migrations")) == len(expected)
    first.close()
    second.close()


@pytest.mark.slow
def test_processes_starting_together_migrate_once(store_location: tuple[str, str]) -> None:
    kind, where = store_location
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_STORE, kind, where], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    results = [process.communicate(timeout=120) for process in processes]
    expected = ",".join(migration_id for migration_id, _ in load_migrations(kind))
    for process, (out, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err
        assert out.strip().splitlines()[-1] == expected
