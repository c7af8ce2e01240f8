"""The background jobs page (superadmin): counts per state of the durable job table, recent failures with their
last error, recent jobs, and retrying a failed job."""

from __future__ import annotations

from typing import Any

from litestar import Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from pyregistry_application.job_monitor_ports import JOB_STATES, JobMonitor
from pyregistry_domain.errors import NotFound
from pyregistry_domain.users import User
from pyregistry_web.admin.csrf import check_csrf
from pyregistry_web.admin.rendering import flash
from pyregistry_web.admin.route_access import Access, needs
from pyregistry_web.admin.session_user import Form, admin_services, renderer
from pyregistry_web.http_types import AnyRequest

__all__ = ["jobs_page", "retry_job"]

JOBS_SHOWN = 50
_OFF = "the durable job table is off in this deployment ([background] executor is in-process)"


def _monitor(state: State) -> JobMonitor | None:
    monitor: JobMonitor | None = state.get("job_monitor")
    return monitor


@get("/jobs", name="admin-jobs", opt=needs(Access.SUPERADMIN), sync_to_thread=True)
def jobs_page(
    request: AnyRequest, state: State, user: NamedDependency[User], show: FromQuery[str] = ""
) -> Response[Any]:
    """Counts per state, the latest failures and the latest jobs (of one state with ``?show=``)."""
    admin_services(state).authorization.require_superadmin(user)
    monitor = _monitor(state)
    shown = show if show in JOB_STATES else ""
    context: dict[str, Any] = {"enabled": monitor is not None, "off_reason": _OFF, "show": shown, "states": JOB_STATES}
    if monitor is not None:
        context |= {
            "counts": monitor.counts(),
            "failures": monitor.recent("failed", JOBS_SHOWN),
            "jobs": monitor.recent(shown or None, JOBS_SHOWN),
        }
    return renderer(state).page(request, "admin/jobs.html.j2", context, user=user)


@post("/jobs/{job_id:str}/retry", name="admin-jobs-retry", opt=needs(Access.SUPERADMIN), sync_to_thread=True)
def retry_job(
    request: AnyRequest, state: State, user: NamedDependency[User], job_id: FromPath[str], data: Form
) -> Redirect:
    """Put a failed job back to waiting with a fresh attempt count."""
    check_csrf(request, data)
    admin_services(state).authorization.require_superadmin(user)
    monitor = _monitor(state)
    if monitor is None:
        raise NotFound(_OFF)
    if not monitor.retry(job_id):
        raise NotFound(f"no failed job {job_id!r}")
    flash(request, f"Job {job_id} will run again.")
    return Redirect(path="/admin/jobs", status_code=303)
