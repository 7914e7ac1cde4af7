"""``GET /healthz``: the process is up, which store it uses (so a web and a worker can be seen to share one),
and how many jobs the store holds in each status."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from common.jobs import JobStatus, get_job_store
from web.api_docs import COMMON_ERRORS, PathItems, json_response
from web.inputs import check_query


async def healthz(request: Request) -> Response:
    check_query(request)
    store = await get_job_store()
    counts = await store.count_jobs()
    by_status = {status.value: 0 for status in JobStatus}
    for statuses in counts.values():
        for status, count in statuses.items():
            by_status[status] = by_status.get(status, 0) + count
    return JSONResponse(
        {
            "status": "ok",
            "store": {"backend": store.backend, "storeId": store.store_id},
            "jobs": by_status,
            "jobsByType": counts,
        },
        headers={"Cache-Control": "no-store"},
    )


ROUTES = [Route("/healthz", healthz, methods=["GET"])]

PATHS: PathItems = {
    "/healthz": {
        "get": {
            "tags": ["health"],
            "summary": "Liveness, the store's backend and identity, and job counts",
            "operationId": "healthz",
            "security": [],
            "responses": {"200": json_response("Up", "Health"), **COMMON_ERRORS},
        }
    }
}
