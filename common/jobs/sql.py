"""The job store's SQL: schema, numbered migrations and every named statement, shared by both backends.

Both backends speak the SQLite dialect, so the statements here are the only SQL in the project. Times are
integer milliseconds since the epoch (UTC), taken from the database's own clock (``NOW_MS``) wherever leases or
``run_after`` are compared, so many hosts agree on one clock. Parameters are named (``:name``).
"""

# ruff: noqa: S608  (every statement is built from this module's constants; values always go in as parameters)
from __future__ import annotations

#: The database's clock in integer milliseconds. ``unixepoch('subsec')`` needs SQLite 3.42; Python's is 3.40.
NOW_MS = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"

JOB_COLUMNS = (
    "id",
    "type",
    "status",
    "payload",
    "result",
    "error_code",
    "error_message",
    "progress",
    "attempts",
    "max_attempts",
    "created_at",
    "updated_at",
    "run_after",
    "started_at",
    "finished_at",
    "lease_owner",
    "lease_token",
    "lease_expires_at",
    "idempotency_key",
)
_COLUMNS = ", ".join(JOB_COLUMNS)

#: What a poll shows of a job (``JobSnapshot``), in this order.
JOB_SNAPSHOT_COLUMNS = (
    "id",
    "type",
    "status",
    "progress",
    "result",
    "error_code",
    "error_message",
    "created_at",
    "updated_at",
)

ASSET_VERSION_COLUMNS = ("asset_id", "version", "job_id", "created_at", "info")
_ASSET_COLUMNS = ", ".join(ASSET_VERSION_COLUMNS)

#: Every update moves ``updated_at`` forward, even two in the same millisecond, so a client waiting for the job to
#: differ from the ``updatedAt`` it holds sees every change (``web.longpoll``).
_TOUCH = f"updated_at = MAX({NOW_MS}, updated_at + 1)"

# -- schema ---------------------------------------------------------------------------------------------------

# Run first on open, in one batch; each is idempotent. ``store_id`` is written once, by whichever process
# creates the schema first; ``schema_version`` 0 means no migration applied yet.
CREATE_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
INSERT_STORE_ID = "INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', :store_id)"
INSERT_SCHEMA_VERSION = "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '0')"

READ_META = "SELECT key, value FROM meta WHERE key IN ('store_id', 'schema_version')"

#: The media store every process of this job store must use: the first process to ask records its media store's
#: id; every process reads back the one recorded. ``meta`` is a key/value table, so this needs no migration.
INSERT_MEDIA_STORE_ID = "INSERT OR IGNORE INTO meta (key, value) VALUES ('media_store_id', :media_store_id)"
SELECT_MEDIA_STORE_ID = "SELECT value FROM meta WHERE key = 'media_store_id'"

#: Numbered migrations, applied in order. Never edit a released one: add the next number.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE jobs (
                id TEXT PRIMARY KEY,
                type TEXT NOT NULL,
                status TEXT NOT NULL,
                payload TEXT NOT NULL,
                result TEXT,
                error_code TEXT,
                error_message TEXT,
                progress REAL NOT NULL DEFAULT 0,
                attempts INTEGER NOT NULL DEFAULT 0,
                max_attempts INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                run_after INTEGER NOT NULL,
                started_at INTEGER,
                finished_at INTEGER,
                lease_owner TEXT,
                lease_token TEXT,
                lease_expires_at INTEGER,
                idempotency_key TEXT
            )""",
            "CREATE UNIQUE INDEX jobs_idempotency ON jobs (type, idempotency_key) WHERE idempotency_key IS NOT NULL",
            "CREATE INDEX jobs_runnable ON jobs (run_after, created_at) WHERE status = 'queued'",
            "CREATE INDEX jobs_leased ON jobs (lease_expires_at) WHERE status = 'running'",
            "CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL",
            "CREATE INDEX jobs_status_created ON jobs (status, created_at)",
            "CREATE INDEX jobs_type_created ON jobs (type, created_at)",
            """CREATE TABLE asset_versions (
                asset_id TEXT NOT NULL,
                version INTEGER NOT NULL,
                job_id TEXT NOT NULL UNIQUE,
                created_at INTEGER NOT NULL,
                info TEXT NOT NULL,
                PRIMARY KEY (asset_id, version)
            )""",
        ),
    ),
    # What the request that first used an idempotency key asked for, so a reuse with another request is refused.
    (2, ("ALTER TABLE jobs ADD COLUMN request_fingerprint TEXT",)),
    # The recordings library: its newest-first order, and renames kept beside the versions (which keep the title
    # they were made with), so the library's title and its time of change come from here when present.
    (
        3,
        (
            "CREATE INDEX asset_versions_first ON asset_versions (created_at, asset_id) WHERE version = 1",
            """CREATE TABLE asset_titles (
                asset_id TEXT PRIMARY KEY,
                title TEXT NOT NULL,
                updated_at INTEGER NOT NULL
            )""",
        ),
    ),
)

LATEST_SCHEMA_VERSION = MIGRATIONS[-1][0]


def migration_guard(version: int) -> str:
    """The first statement of migration ``version``'s batch: it fails on a primary-key conflict when another
    process already applied that migration, so the whole batch rolls back instead of running twice."""
    return f"INSERT INTO meta (key, value) VALUES ('migration.{version}', CAST({NOW_MS} AS TEXT))"


def set_schema_version(version: int) -> str:
    return f"UPDATE meta SET value = '{version}' WHERE key = 'schema_version'"


# -- jobs, as the web sees them -------------------------------------------------------------------------------

#: Returns the new row, or nothing when the idempotency key was already used for this type.
INSERT_JOB = f"""
INSERT INTO jobs (id, type, status, payload, progress, attempts, max_attempts, created_at, updated_at,
                  run_after, idempotency_key, request_fingerprint)
VALUES (:id, :type, 'queued', :payload, 0, 0, :max_attempts, {NOW_MS}, {NOW_MS},
        COALESCE(:run_after, {NOW_MS}), :idempotency_key, :request_fingerprint)
ON CONFLICT (type, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING {_COLUMNS}
"""

#: The job's columns, then the fingerprint of the request that created it.
SELECT_JOB_BY_IDEMPOTENCY_KEY = f"""
SELECT {_COLUMNS}, request_fingerprint FROM jobs WHERE type = :type AND idempotency_key = :idempotency_key
"""

SELECT_JOB = f"SELECT {_COLUMNS} FROM jobs WHERE id = :id"

SELECT_JOB_SNAPSHOT = f"SELECT {', '.join(JOB_SNAPSHOT_COLUMNS)} FROM jobs WHERE id = :id"

#: The poll fields of the jobs whose ``updated_at`` differs from the one given (``:known`` is a JSON object
#: ``{id: updated_at}``), in one read; unchanged jobs cost a lookup and send nothing back. A job no longer in the
#: store comes back as its id with every other column NULL.
SELECT_CHANGED_JOB_SNAPSHOTS = f"""
SELECT known.key, {", ".join("jobs." + column for column in JOB_SNAPSHOT_COLUMNS)}
FROM json_each(:known) AS known LEFT JOIN jobs ON jobs.id = known.key
WHERE jobs.id IS NULL OR jobs.updated_at != known.value
"""

CANCEL_JOB = f"""
UPDATE jobs SET status = 'cancelled', finished_at = {NOW_MS}, {_TOUCH}, lease_expires_at = NULL
WHERE id = :id AND status IN ('queued', 'running')
"""

COUNT_JOBS = "SELECT type, status, COUNT(*) FROM jobs GROUP BY type, status"


def list_jobs(*, by_status: bool, by_type: bool) -> str:
    """Newest first; the filters are added only when given, so each form can use its index."""
    filters = ((by_status, "status = :status"), (by_type, "type = :type"))
    conditions = [condition for wanted, condition in filters if wanted]
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT {_COLUMNS} FROM jobs {where} ORDER BY created_at DESC, rowid DESC LIMIT :limit"


#: An operator's retry: a failed job runs again from scratch, with a fresh attempt budget.
RETRY_JOB = f"""
UPDATE jobs SET status = 'queued', attempts = 0, progress = 0, result = NULL, error_code = NULL,
    error_message = NULL, run_after = {NOW_MS}, started_at = NULL, finished_at = NULL, lease_owner = NULL,
    lease_token = NULL, lease_expires_at = NULL, {_TOUCH}
WHERE id = :id AND status = 'failed'
RETURNING {_COLUMNS}
"""

# -- what the store reports about itself (metrics) ------------------------------------------------------------

#: Per type: queued jobs, and how long the longest-waiting runnable one has waited (ms; NULL when none is due:
#: a job waiting out a retry back-off is not late).
QUEUE_STATS = f"""
SELECT type, COUNT(*), {NOW_MS} - MIN(CASE WHEN run_after <= {NOW_MS} THEN run_after END)
FROM jobs WHERE status = 'queued' GROUP BY type
"""

COUNT_FAILURES = "SELECT type, error_code, COUNT(*) FROM jobs WHERE status = 'failed' GROUP BY type, error_code"


def job_duration_histogram(bucket_bounds_ms: tuple[int, ...]) -> str:
    """Per type and terminal status of the jobs that ran: count, total run time (ms) and one cumulative count per
    bucket bound, ``finished_at - started_at <= bound``. The bounds are integers written into the statement."""
    duration = "(finished_at - started_at)"
    buckets = "".join(f", SUM({duration} <= {int(bound)})" for bound in bucket_bounds_ms)
    return f"""
SELECT type, status, COUNT(*), SUM({duration}){buckets}
FROM jobs INDEXED BY jobs_finished
WHERE finished_at IS NOT NULL AND started_at IS NOT NULL
GROUP BY type, status
"""


#: Counters kept in ``meta`` under ``counter.<name>``, so every process reports the same totals.
INCREMENT_COUNTER = """
INSERT INTO meta (key, value) VALUES ('counter.' || :name, CAST(:amount AS TEXT))
ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + :amount AS TEXT)
"""

READ_COUNTERS = "SELECT substr(key, 9), CAST(value AS INTEGER) FROM meta WHERE key LIKE 'counter.%'"

#: The counter ``requeue_expired_jobs`` adds to: leases that lapsed because their worker stopped renewing them.
LEASES_EXPIRED_COUNTER = "leases_expired"

# -- jobs, as a worker sees them ------------------------------------------------------------------------------


def claim_jobs(*, by_type: bool) -> str:
    """Up to ``:limit`` runnable jobs in one statement, oldest first. The subquery walks ``jobs_runnable`` in order
    and stops at ``:limit`` matches (named explicitly: without statistics the planner prefers
    ``jobs_status_created`` and sorts every queued job); the outer ``status = 'queued'`` makes the hand-over exact
    even if two claims picked the same rows (its unary ``+`` keeps the planner on the primary key for the ids; on
    ``jobs_status_created`` it would visit every queued job). Each row gets its own lease token from the
    database's random source (``randomblob`` is evaluated per row), so one statement hands out as many leases as it
    claims jobs."""
    type_filter = "AND type IN (SELECT value FROM json_each(:job_types))" if by_type else ""
    return f"""
UPDATE jobs SET status = 'running', attempts = attempts + 1, progress = 0, lease_owner = :worker_id,
    lease_token = lower(hex(randomblob(16))), lease_expires_at = {NOW_MS} + :lease_ms, started_at = {NOW_MS},
    {_TOUCH}
WHERE id IN (
    SELECT id FROM jobs INDEXED BY jobs_runnable WHERE status = 'queued' AND run_after <= {NOW_MS} {type_filter}
    ORDER BY run_after, created_at, rowid LIMIT :limit
) AND +status = 'queued'
RETURNING {_COLUMNS}
"""


#: The fence every worker write carries: still running, under this lease, and the lease has not lapsed.
_FENCE = f"id = :id AND status = 'running' AND lease_token = :lease_token AND lease_expires_at > {NOW_MS}"

HEARTBEAT = f"UPDATE jobs SET lease_expires_at = {NOW_MS} + :lease_ms WHERE {_FENCE} RETURNING id"

SET_PROGRESS = f"UPDATE jobs SET progress = :progress, {_TOUCH} WHERE {_FENCE} RETURNING id"


def _settled(fields: tuple[str, ...]) -> str:
    """The rows of ``:settlements`` (a JSON array of objects with ``id``, ``lease_token`` and ``fields``) as a
    table ``s`` to update from; the caller makes sure no job id appears twice in one array."""
    columns = ", ".join(f"value ->> '{name}' AS {name}" for name in ("id", "lease_token", *fields))
    return f"(SELECT {columns} FROM json_each(:settlements)) AS s"


#: ``_FENCE`` for each row of ``s``: every settlement in a group is fenced by its own lease, so a refused one
#: changes nothing and does not stop the others. The statement returns the ids it settled. The unary ``+`` keeps
#: the planner on the primary key (a lookup per settlement) rather than ``jobs_status_created``.
_GROUP_FENCE = (
    f"jobs.id = s.id AND +jobs.status = 'running' AND jobs.lease_token = s.lease_token "
    f"AND jobs.lease_expires_at > {NOW_MS}"
)

#: Group commit of completions: ``result`` is each job's result as JSON text.
COMPLETE_JOBS = f"""
UPDATE jobs SET status = 'completed', result = s.result, error_code = NULL, error_message = NULL, progress = 1,
    finished_at = {NOW_MS}, {_TOUCH}, lease_expires_at = NULL
FROM {_settled(("result",))}
WHERE {_GROUP_FENCE} RETURNING jobs.id
"""

#: Group commit of failures. With ``retry_at`` and attempts left a job is queued again (keeping the error of the
#: attempt that failed); otherwise it ends ``failed``.
FAIL_JOBS = f"""
UPDATE jobs SET
    status = CASE WHEN s.retry_at IS NOT NULL AND attempts < max_attempts THEN 'queued' ELSE 'failed' END,
    run_after = CASE WHEN s.retry_at IS NOT NULL AND attempts < max_attempts THEN s.retry_at ELSE run_after END,
    finished_at = CASE WHEN s.retry_at IS NOT NULL AND attempts < max_attempts THEN NULL ELSE {NOW_MS} END,
    error_code = s.error_code, error_message = s.error_message, lease_expires_at = NULL, {_TOUCH}
FROM {_settled(("retry_at", "error_code", "error_message"))}
WHERE {_GROUP_FENCE} RETURNING jobs.id
"""

#: Group commit of releases. A job keeps its ``run_after``, so it keeps its place at the front of the queue.
RELEASE_JOBS = f"""
UPDATE jobs SET status = 'queued', attempts = MAX(attempts - 1, 0), progress = 0, started_at = NULL,
    lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, {_TOUCH}
FROM {_settled(())}
WHERE {_GROUP_FENCE} RETURNING jobs.id
"""

REQUEUE_EXPIRED_JOBS = f"""
UPDATE jobs INDEXED BY jobs_leased SET
    status = CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END,
    error_code = CASE WHEN attempts < max_attempts THEN error_code ELSE 'worker_lost' END,
    error_message = CASE WHEN attempts < max_attempts THEN error_message
        ELSE 'the worker running this job stopped renewing its lease, and no attempts are left' END,
    finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE {NOW_MS} END,
    lease_expires_at = NULL, {_TOUCH}
WHERE status = 'running' AND lease_expires_at <= {NOW_MS}
RETURNING id
"""

PRUNE_JOBS = f"""
DELETE FROM jobs INDEXED BY jobs_finished
WHERE status IN ('completed', 'failed', 'cancelled') AND finished_at < {NOW_MS} - :older_than_ms
RETURNING id
"""

# -- assets ---------------------------------------------------------------------------------------------------

#: The next version number is computed and written in one statement, under the write lock. A job that already
#: recorded a version gets nothing inserted (``job_id`` is unique) and reads its version back.
INSERT_ASSET_VERSION = f"""
INSERT INTO asset_versions (asset_id, version, job_id, created_at, info)
SELECT :asset_id, COALESCE(MAX(version), 0) + 1, :job_id, {NOW_MS}, :info
FROM asset_versions WHERE asset_id = :asset_id
ON CONFLICT (job_id) DO NOTHING
"""

#: The version a job's completion records: inserted only while the job still runs under the completing lease, so
#: a run that lost its lease can never publish its files as a version. Completion is in the same transaction.
INSERT_COMPLETED_ASSET_VERSION = f"""
INSERT INTO asset_versions (asset_id, version, job_id, created_at, info)
SELECT :asset_id, next_version, :id, {NOW_MS}, :info
FROM (SELECT COALESCE(MAX(version), 0) + 1 AS next_version FROM asset_versions WHERE asset_id = :asset_id)
WHERE EXISTS (SELECT 1 FROM jobs WHERE {_FENCE})
ON CONFLICT (job_id) DO NOTHING
"""

#: ``COMPLETE_JOBS`` for one job whose result is a new asset version: the version number the insert above gave out
#: goes into the result, and the job completes only if that version holds exactly this run's ``info``.
COMPLETE_JOB_WITH_ASSET_VERSION = f"""
UPDATE jobs SET status = 'completed',
    result = json_set(:result, '$.version', (SELECT version FROM asset_versions WHERE job_id = :id)),
    error_code = NULL, error_message = NULL, progress = 1,
    finished_at = {NOW_MS}, {_TOUCH}, lease_expires_at = NULL
WHERE {_FENCE} AND EXISTS (SELECT 1 FROM asset_versions WHERE job_id = :id AND info = :info)
RETURNING id
"""

#: Last in the completion's batch: should the lease have lapsed between the insert and the update, the version
#: the insert made is taken back, so no version ever exists for a job that did not complete.
DELETE_UNCOMPLETED_ASSET_VERSION = """
DELETE FROM asset_versions WHERE job_id = :id
AND NOT EXISTS (SELECT 1 FROM jobs WHERE id = :id AND status = 'completed')
"""

SELECT_ASSET_VERSION_BY_JOB = f"SELECT {_ASSET_COLUMNS} FROM asset_versions WHERE job_id = :job_id"

SELECT_ASSET_VERSIONS = f"SELECT {_ASSET_COLUMNS} FROM asset_versions WHERE asset_id = :asset_id ORDER BY version"

#: What the library shows of an asset, from its versions and its rename if any: id, title, created (its first
#: version), updated (its last version or rename), number of versions, the latest version's number, duration and
#: loudness (JSON text), and the bytes recorded as ``sizeBytes`` in its versions' info.
ASSET_SUMMARY_COLUMNS = (
    "asset_id",
    "title",
    "created_at",
    "updated_at",
    "versions",
    "latest_version",
    "duration_sec",
    "loudness",
    "storage_bytes",
)


def _json_field(column: str, path: str) -> str:
    """``json_extract`` that reads a row it cannot parse (an old row holding ``NaN``/``Infinity``, which SQLite
    before 3.42 refuses) as NULL instead of failing the whole statement."""
    return f"CASE WHEN json_valid({column}) THEN json_extract({column}, '{path}') END"


# An asset is listed by its version 1 (``f``), so a page walks ``asset_versions_first`` in order and stops at
# ``:limit``; only the page's assets are then summed up, each by its primary key.
_ASSET_SUMMARY = f"""
SELECT f.asset_id, COALESCE(t.title, {_json_field("f.info", "$.title")}, ''), f.created_at,
    MAX(l.created_at, COALESCE(t.updated_at, 0)),
    (SELECT COUNT(*) FROM asset_versions AS c WHERE c.asset_id = f.asset_id),
    l.version, {_json_field("l.info", "$.durationSec")}, {_json_field("l.info", "$.loudness")},
    (SELECT COALESCE(SUM({_json_field("s.info", "$.sizeBytes")}), 0) FROM asset_versions AS s
        WHERE s.asset_id = f.asset_id)
FROM asset_versions AS f
JOIN asset_versions AS l ON l.asset_id = f.asset_id
    AND l.version = (SELECT MAX(m.version) FROM asset_versions AS m WHERE m.asset_id = f.asset_id)
LEFT JOIN asset_titles AS t ON t.asset_id = f.asset_id
WHERE f.version = 1"""

_NEWEST_FIRST = "ORDER BY f.created_at DESC, f.asset_id DESC LIMIT :limit"

#: Newest first; the order (creation time, then id) never changes, so a page ends where the next one starts.
LIST_ASSETS = f"{_ASSET_SUMMARY} {_NEWEST_FIRST}"

#: The page after the asset created at ``:before_created_at`` with id ``:before_asset_id``.
LIST_ASSETS_BEFORE = (
    f"{_ASSET_SUMMARY} AND (f.created_at, f.asset_id) < (:before_created_at, :before_asset_id) {_NEWEST_FIRST}"
)

SELECT_ASSET_SUMMARY = f"{_ASSET_SUMMARY} AND f.asset_id = :asset_id"

#: Only an asset that has a version can be renamed.
RENAME_ASSET = f"""
INSERT INTO asset_titles (asset_id, title, updated_at)
SELECT :asset_id, :title, {NOW_MS} WHERE EXISTS (SELECT 1 FROM asset_versions WHERE asset_id = :asset_id)
ON CONFLICT (asset_id) DO UPDATE SET title = excluded.title, updated_at = excluded.updated_at
"""
