"""The processing system through the API: queue, workers, rate, failed jobs, requeue."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from dashboard import system as pages
from dashboard.api import bp
from dashboard.auth import requires
from dashboard.context import config, redis_conn


@bp.get("/system")
@requires("system:view")
def system_get() -> ResponseReturnValue:
    return pages.overview()


@bp.post("/system/failed/<job_id>/requeue")
@requires("system:requeue")
def system_requeue(job_id: str) -> ResponseReturnValue:
    pages.requeue(redis_conn(), pages.queue(config(), redis_conn()), job_id)
    return {"requeued": job_id}
