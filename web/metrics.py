"""``GET /metrics``: Prometheus text format, written by ``prometheus-client``.

What describes the jobs and the queue is read from the store at each scrape (``JobStore.get_metrics``), so every
web process reports the same values: jobs by type and status, queue depth and the wait of the oldest runnable job
per type, run-time histograms by type and outcome, failed jobs by error code, and leases that expired because a
worker was lost. What only this process sees is counted here: poll requests and uploads, plus the standard
``process_*`` figures.

Protected like ``/api``: with ``API_TOKEN`` or ``METRICS_TOKEN`` set, a scrape must send either as
``Authorization: Bearer <token>``; with neither set it is open.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from common.jobs import JobStatus, JobStoreMetrics, JobType
from common.jobs.sql import LEASES_EXPIRED_COUNTER
from web.auth import configured_token
from web.errors import error_response
from web.inputs import check_query
from web.store_deadline import request_job_store

PATH = "/metrics"
#: Run-time histogram bounds in seconds: from a no-op job to a six-hour recording's render.
DURATION_BUCKETS_S = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 21600.0)
_OUTCOMES = (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)

PROCESS_REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=PROCESS_REGISTRY)


class _PollCounts(Collector):
    """Poll requests answered by this process, counted in plain integers: a ``Counter`` takes a lock on every
    increment, and polls, the most frequent request, are all counted on the event loop's one thread."""

    def __init__(self) -> None:
        self.plain = 0
        self.waited = 0
        self._created_s = time.time()

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "audioprep_poll_requests",
            "Poll requests answered by this web process; wait=true for long-polls",
            labels=["wait"],
        )
        family.add_metric(["false"], self.plain, created=self._created_s)
        family.add_metric(["true"], self.waited, created=self._created_s)
        yield family


_POLLS = _PollCounts()
PROCESS_REGISTRY.register(_POLLS)
_UPLOADS = Counter("audioprep_uploads", "Uploads this web process accepted", registry=PROCESS_REGISTRY)
_UPLOAD_BYTES = Counter(
    "audioprep_upload_bytes", "Bytes of the uploads this web process accepted", registry=PROCESS_REGISTRY
)


def metrics_tokens() -> list[bytes]:
    """The bearer tokens a scrape may send; empty means ``/metrics`` is open."""
    tokens = (os.environ.get("METRICS_TOKEN") or None, configured_token())
    return [token.encode() for token in tokens if token]


def count_poll(*, waited: bool) -> None:
    if waited:
        _POLLS.waited += 1
    else:
        _POLLS.plain += 1


def count_upload(size_bytes: int) -> None:
    _UPLOADS.inc()
    _UPLOAD_BYTES.inc(size_bytes)


class StoreMetricsCollector(Collector):
    """One scrape's store figures as metric families (every known type and status appears, zero or not)."""

    def __init__(self, metrics: JobStoreMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        metrics = self._metrics
        job_types = sorted({*JobType, *metrics.jobs, *metrics.queues})
        jobs = GaugeMetricFamily("audioprep_jobs", "Jobs in the store by type and status", labels=["type", "status"])
        for job_type in job_types:
            counts = metrics.jobs.get(job_type, {})
            for status in sorted({*JobStatus, *counts}):
                jobs.add_metric([job_type, status], counts.get(status, 0))
        yield jobs

        depth = GaugeMetricFamily("audioprep_queue_depth", "Queued jobs by type", labels=["type"])
        age = GaugeMetricFamily(
            "audioprep_queue_oldest_age_seconds",
            "How long the longest-waiting runnable queued job of each type has waited (0 when none is due)",
            labels=["type"],
        )
        for job_type in job_types:
            queue = metrics.queues.get(job_type)
            depth.add_metric([job_type], queue.depth if queue else 0)
            age.add_metric([job_type], (queue.oldest_runnable_age_s or 0.0) if queue else 0.0)
        yield depth
        yield age

        failures = GaugeMetricFamily(
            "audioprep_failed_jobs", "Failed jobs in the store by type and error code", labels=["type", "code"]
        )
        for (job_type, code), count in sorted(metrics.failures.items()):
            failures.add_metric([job_type, code], count)
        yield failures

        durations = HistogramMetricFamily(
            "audioprep_job_duration_seconds",
            "Run time of the finished jobs in the store, by type and outcome",
            labels=["type", "outcome"],
        )
        bounds = [f"{bound:g}" for bound in metrics.bucket_bounds_s]
        for job_type in job_types:
            for outcome in _OUTCOMES:
                histogram = metrics.durations.get((job_type, outcome))
                cumulative = histogram.bucket_counts if histogram else (0,) * len(bounds)
                total = histogram.count if histogram else 0
                buckets: list[tuple[str, float]] = [*zip(bounds, cumulative, strict=True), ("+Inf", total)]
                durations.add_metric([job_type, outcome], buckets, histogram.sum_s if histogram else 0.0)
        yield durations

        leases = CounterMetricFamily(
            "audioprep_leases_expired",
            "Running jobs whose worker stopped renewing the lease (lost), re-queued or failed as worker_lost",
        )
        leases.add_metric([], metrics.counters.get(LEASES_EXPIRED_COUNTER, 0))
        yield leases


def _authorised(request: Request, tokens: list[bytes]) -> bool:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    presented = credentials.strip().encode()
    if scheme.lower() != "bearer" or not presented:
        return False
    return any(hmac.compare_digest(presented, token) for token in tokens)


async def metrics_endpoint(request: Request) -> Response:
    tokens = metrics_tokens()
    if tokens and not _authorised(request, tokens):
        return error_response(
            401, "unauthorized", "send Authorization: Bearer <token>", headers={"WWW-Authenticate": "Bearer"}
        )
    check_query(request)
    store = await request_job_store()
    store_registry = CollectorRegistry(auto_describe=False)
    store_registry.register(StoreMetricsCollector(await store.get_metrics(DURATION_BUCKETS_S)))
    body = generate_latest(store_registry) + generate_latest(PROCESS_REGISTRY)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


# Not in the OpenAPI document: like the document itself, it is for operators' tools, not an API client.
ROUTES = [Route(PATH, metrics_endpoint, methods=["GET"], include_in_schema=False)]
