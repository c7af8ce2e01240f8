"""An upload's jobs commit and roll back with its file record (``CatalogueWriter.add_release_file(..., jobs)``).

On SQLite, PostgreSQL and SQL Server the job rows are written in the file's transaction; the memory store has no
job table and refuses jobs without recording anything.
"""

from __future__ import annotations

import pytest

from pyregistry_application.background_ports import PendingJob
from pyregistry_application.job_monitor_ports import JobCounts
from pyregistry_application.metadata_backend import MetadataBackend
from pyregistry_domain.errors import AlreadyExists
from tests.contract.conftest import SQL_STORE_PARAMS, STORE_PARAMS
from tests.contract.metadata_builders import project, publish, release, tenant, wheel

TENANT = "t-acme"
PUBLISH = "webhook.publish"


@pytest.fixture
def registry(store: MetadataBackend) -> MetadataBackend:
    """The store with the tenant the files go to."""
    store.tenants.add_tenant(tenant("acme"))
    return store


def _job(key: str) -> PendingJob:
    return PendingJob(PUBLISH, {"idempotency_key": key, "notification": {"title": "New package: demo 1.0"}})


def _add(store: MetadataBackend, version: str, jobs: list[PendingJob]) -> None:
    store.catalogue.add_release_file(
        project(TENANT, "demo"), release(TENANT, "demo", version), wheel(TENANT, "demo", version), jobs
    )


@pytest.mark.parametrize("store_location", SQL_STORE_PARAMS, indirect=True)
def test_a_recorded_file_leaves_exactly_its_waiting_jobs(registry: MetadataBackend) -> None:
    store = registry
    assert store.job_queue is not None
    _add(store, "1.0", [_job("key-1")])

    assert [file.filename for file in store.catalogue.list_files(TENANT, "demo")] == ["demo-1.0-py3-none-any.whl"]
    assert store.job_queue.counts() == JobCounts(waiting=1)
    claimed = store.job_queue.claim([PUBLISH], "node-a", 30)
    assert claimed is not None
    assert (claimed.kind, claimed.payload["idempotency_key"], claimed.max_attempts) == (PUBLISH, "key-1", 5)


@pytest.mark.parametrize("store_location", SQL_STORE_PARAMS, indirect=True)
def test_a_clashing_file_rolls_its_jobs_back(registry: MetadataBackend) -> None:
    store = registry
    assert store.job_queue is not None
    publish(store, TENANT, "demo", "1.0")

    with pytest.raises(AlreadyExists):
        _add(store, "1.0", [_job("key-clash")])

    assert store.job_queue.counts() == JobCounts()
    assert len(store.catalogue.list_files(TENANT, "demo")) == 1


@pytest.mark.parametrize("store_location", SQL_STORE_PARAMS, indirect=True)
def test_a_job_that_cannot_be_written_rolls_the_file_back(registry: MetadataBackend) -> None:
    store = registry
    assert store.job_queue is not None
    unwritable = PendingJob(PUBLISH, {"notification": {1, 2}})

    with pytest.raises(TypeError):
        _add(store, "1.0", [_job("key-1"), unwritable])

    assert store.job_queue.counts() == JobCounts()
    assert store.catalogue.get_file(TENANT, "demo-1.0-py3-none-any.whl") is None
    assert store.catalogue.get_project(TENANT, "demo") is None


@pytest.mark.parametrize("store_location", SQL_STORE_PARAMS, indirect=True)
def test_a_job_keeps_the_attempts_it_names(registry: MetadataBackend) -> None:
    store = registry
    assert store.job_queue is not None
    _add(store, "1.0", [PendingJob(PUBLISH, {"n": 1}, max_attempts=8)])

    claimed = store.job_queue.claim([PUBLISH], "node-a", 30)
    assert claimed is not None and claimed.max_attempts == 8


@pytest.mark.parametrize("store_location", STORE_PARAMS, indirect=True)
def test_no_jobs_records_the_file_on_every_store(registry: MetadataBackend) -> None:
    store = registry
    _add(store, "1.0", [])

    assert store.catalogue.get_file(TENANT, "demo-1.0-py3-none-any.whl") is not None
    if store.job_queue is not None:
        assert store.job_queue.counts() == JobCounts()


@pytest.mark.parametrize("store_location", [p for p in STORE_PARAMS if p.id == "memory"], indirect=True)
def test_a_store_without_a_job_table_refuses_jobs_and_records_nothing(registry: MetadataBackend) -> None:
    store = registry
    assert store.job_queue is None

    with pytest.raises(ValueError, match="no job table"):
        _add(store, "1.0", [_job("key-1")])

    assert store.catalogue.get_project(TENANT, "demo") is None
