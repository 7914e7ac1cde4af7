"""Polling, cancelling and listing jobs. Every answer that holds a job is ``to_poll_body(job)``, nothing else.

A poll may wait for the job to change (``?waitForChange=<updatedAt>&timeout=<s>``, see ``web.longpoll``).

The typed routes (``/api/audio/ingest/{jobId}`` and the like) are the same two endpoints bound to one job type:
a job of another type is as unknown to them as an id nobody issued.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from common.jobs import Job, JobSnapshot, JobStatus, JobType, to_poll_body
from common.media_cleanup import remove_upload
from common.media_store import MediaStoreError, get_media_store
from web.api_docs import COMMON_ERRORS, PathItems, error, json_response, poll
from web.api_docs import path_id as path_id_doc
from web.errors import ApiError, not_found
from web.inputs import check_query, path_id
from web.longpoll import OPENAPI_PARAMETERS as LONG_POLL_PARAMETERS
from web.longpoll import QUERY_PARAMETERS, JobChangeWatcher, wait_request
from web.metrics import count_poll
from web.store_deadline import request_job_store

logger = logging.getLogger(__name__)

DEFAULT_LIST_LIMIT = 50
MAX_LIST_LIMIT = 500
# A poll must never be answered from a browser or proxy cache: the store is the only source of job state.
_NO_STORE_HEADER = (b"cache-control", b"no-store")
_JSON_CONTENT_TYPE = (b"content-type", JSONResponse.media_type.encode("latin-1"))


class PollResponse(JSONResponse):
    """A JSON answer marked ``no-store``, built for the poll path: orjson encodes the body in a tenth of the time
    ``json.dumps`` takes, and without extra headers the header list is built from constant bytes rather than
    through ``Response.init_headers``, which encodes the content type again on every response."""

    def __init__(self, content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> None:
        if headers is not None:
            super().__init__(content, status_code=status_code, headers=headers)
            return
        self.status_code = status_code
        self.background = None
        self.body = self.render(content)
        self.raw_headers = [(b"content-length", b"%d" % len(self.body)), _JSON_CONTENT_TYPE, _NO_STORE_HEADER]

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except orjson.JSONEncodeError:
            # Integers beyond 64 bits, which a result copied from a request could hold: the stdlib encodes them.
            return super().render(content)

    def init_headers(self, headers: Mapping[str, str] | None = None) -> None:
        super().init_headers(headers)
        self.raw_headers.append(_NO_STORE_HEADER)


def poll_response(
    job: Job | JobSnapshot, status_code: int = 200, headers: dict[str, str] | None = None
) -> PollResponse:
    return PollResponse(to_poll_body(job), status_code=status_code, headers=headers)


def created_response(job: Job, created: bool) -> PollResponse:
    """202 for a new job; 200 when an ``Idempotency-Key`` retry found the job the first request made."""
    return poll_response(job, 202 if created else 200, {"Location": f"/api/audio/jobs/{job.id}"})


def _missing(job_id: str) -> ApiError:
    return not_found(f"No job with id {job_id!r}.")


async def get_job_snapshot(request: Request, job_type: str | None = None) -> JobSnapshot:
    job_id = path_id(request, "jobId", "job")
    store = await request_job_store()
    job = await store.get_job_snapshot(job_id)
    if job is None or (job_type is not None and job.type != job_type):
        raise _missing(job_id)
    return job


async def poll_job(request: Request, job_type: str | None = None) -> JobSnapshot:
    """The job now, or (long-poll) once it has changed from the ``updatedAt`` the client names."""
    check_query(request, QUERY_PARAMETERS)
    wait = wait_request(request)
    count_poll(waited=wait is not None)
    if wait is None:
        return await get_job_snapshot(request, job_type)
    watcher: JobChangeWatcher = request.app.state.job_watcher
    # A client following a job asks again at once with the state it was just answered: the watcher still has it.
    job = watcher.answered_state(path_id(request, "jobId", "job"), wait.updated_at)
    if job is None or (job_type is not None and job.type != job_type):
        job = await get_job_snapshot(request, job_type)
    changed = await watcher.wait(job, wait, request.receive)
    if changed is None:
        raise _missing(job.id)
    return changed


async def cancel_job(request: Request, job_type: str | None = None) -> Job:
    check_query(request)
    if job_type is not None:
        # The type check needs the job before cancelling, or a typed route could cancel a job of another type.
        await get_job_snapshot(request, job_type)
    job_id = path_id(request, "jobId", "job")
    store = await request_job_store()
    job = await store.cancel_job(job_id)
    if job is None:
        raise _missing(job_id)
    logger.info("job %s: cancel requested, status now %s", job.id, job.status)
    if job.status is JobStatus.CANCELLED:
        # No run reads an ended ingest's upload again (a running one has its copy already).
        try:
            await remove_upload(await get_media_store(), job)
        except MediaStoreError as exc:
            logger.warning("job %s: upload not removed, media-gc will find it: %s", job.id, exc.message)
    return job


class _PollEndpoint:
    """``GET`` (poll) and ``DELETE`` (cancel) of one job, as an ASGI app rather than a request handler: Starlette
    wraps a handler in a second layer of exception handling per request, which the app's own exception middleware
    already gives (same handlers, same answers), and the poll is the request a web process answers most."""

    def __init__(self, job_type: str | None) -> None:
        self.job_type = job_type

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        if request.method == "DELETE":
            response = poll_response(await cancel_job(request, self.job_type))
        else:
            response = poll_response(await poll_job(request, self.job_type))
        await response(scope, receive, send)


def poll_routes(prefix: str, job_type: str | None) -> list[Route]:
    """``GET`` (poll) and ``DELETE`` (cancel) at ``{prefix}/{jobId}``, bound to ``job_type`` (``None``: any).

    One route for both methods, so a 405 names both in its ``Allow`` header."""
    return [Route(prefix + "/{jobId}", _PollEndpoint(job_type), methods=["GET", "DELETE"])]


def poll_paths(prefix: str, tag: str, what: str) -> PathItems:
    """The documentation of ``poll_routes(prefix, ...)``: ``tag`` groups it, ``what`` names its jobs."""
    job_id = path_id_doc("jobId", "A job id as returned by the create request")
    not_found_doc = error(f"No {what} job with this id")
    operation_id = tag.replace(".", "_")
    return {
        prefix + "/{jobId}": {
            "get": {
                "tags": [tag],
                "summary": f"Poll a {what} job",
                "operationId": f"poll_{operation_id}",
                "parameters": [job_id, *LONG_POLL_PARAMETERS],
                "responses": {"200": poll("The job"), "404": not_found_doc, **COMMON_ERRORS},
            },
            "delete": {
                "tags": [tag],
                "summary": f"Cancel a {what} job",
                "description": "A queued or running job becomes `cancelled`; a finished job is returned unchanged.",
                "operationId": f"cancel_{operation_id}",
                "parameters": [job_id],
                "responses": {"200": poll("The job after the cancel"), "404": not_found_doc, **COMMON_ERRORS},
            },
        }
    }


def _enum_param(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    if value not in allowed:
        raise ApiError(400, "invalid_parameter", f"{name} must be one of: {', '.join(allowed)}", field=name)
    return value


def _limit_param(request: Request) -> int:
    value = request.query_params.get("limit")
    if value is None:
        return DEFAULT_LIST_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIST_LIMIT:
        raise ApiError(
            400, "invalid_parameter", f"limit must be a whole number from 1 to {MAX_LIST_LIMIT}", field="limit"
        )
    return int(value)


async def list_jobs(request: Request) -> Response:
    """Recent jobs, newest first."""
    check_query(request, ("status", "type", "limit"))
    status = _enum_param(request, "status", tuple(JobStatus))
    job_type = _enum_param(request, "type", tuple(JobType))
    limit = _limit_param(request)
    store = await request_job_store()
    jobs = await store.list_jobs(status=JobStatus(status) if status else None, job_type=job_type, limit=limit)
    return PollResponse({"jobs": [to_poll_body(job) for job in jobs]})


# The poll route first: it is by far the most requested, and the router tries routes in order.
ROUTES = [*poll_routes("/api/audio/jobs", None), Route("/api/audio/jobs", list_jobs, methods=["GET"])]

PATHS: PathItems = {
    **poll_paths("/api/audio/jobs", "jobs", "any"),
    "/api/audio/jobs": {
        "get": {
            "tags": ["jobs"],
            "summary": "Recent jobs, newest first",
            "operationId": "list_jobs",
            "parameters": [
                {"name": "status", "in": "query", "schema": {"enum": [status.value for status in JobStatus]}},
                {"name": "type", "in": "query", "schema": {"enum": [job_type.value for job_type in JobType]}},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIST_LIMIT},
                },
            ],
            "responses": {"200": json_response("The jobs", "JobList"), **COMMON_ERRORS},
        }
    },
}
