"""Durable background work in the metadata store: the job table, its leases and the executor over it."""

from pyregistry_infrastructure.durable_jobs.executor import DurableJobExecutor, node_name
from pyregistry_infrastructure.durable_jobs.job_table import ClaimedJob, SqlJobTable

__all__ = ["ClaimedJob", "DurableJobExecutor", "SqlJobTable", "node_name"]
