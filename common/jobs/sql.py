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
                  run_after, idempotency_key)
VALUES (:id, :type, 'queued', :payload, 0, 0, :max_attempts, {NOW_MS}, {NOW_MS},
        COALESCE(:run_after, {NOW_MS}), :idempotency_key)
ON CONFLICT (type, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING {_COLUMNS}
"""

SELECT_JOB_BY_IDEMPOTENCY_KEY = f"SELECT {_COLUMNS} FROM jobs WHERE type = :type AND idempotency_key = :idempotency_key"

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


def claim_next_job(*, by_type: bool) -> str:
    """One statement: the subquery walks ``jobs_runnable`` in order and stops at the first match (named
    explicitly: without statistics the planner prefers ``jobs_status_created`` and sorts every queued job); the
    outer ``status = 'queued'`` makes the hand-over exact even if two claims picked the same row."""
    type_filter = "AND type IN (SELECT value FROM json_each(:job_types))" if by_type else ""
    return f"""
UPDATE jobs SET status = 'running', attempts = attempts + 1, progress = 0, lease_owner = :worker_id,
    lease_token = :lease_token, lease_expires_at = {NOW_MS} + :lease_ms, started_at = {NOW_MS},
    {_TOUCH}
WHERE id = (
    SELECT id FROM jobs INDEXED BY jobs_runnable WHERE status = 'queued' AND run_after <= {NOW_MS} {type_filter}
    ORDER BY run_after, created_at, rowid LIMIT 1
) AND status = 'queued'
RETURNING {_COLUMNS}
"""


#: The fence every worker write carries: still running, under this lease, and the lease has not lapsed.
_FENCE = f"id = :id AND status = 'running' AND lease_token = :lease_token AND lease_expires_at > {NOW_MS}"

HEARTBEAT = f"UPDATE jobs SET lease_expires_at = {NOW_MS} + :lease_ms WHERE {_FENCE} RETURNING id"

SET_PROGRESS = f"UPDATE jobs SET progress = :progress, {_TOUCH} WHERE {_FENCE} RETURNING id"

COMPLETE_JOB = f"""
UPDATE jobs SET status = 'completed', result = :result, error_code = NULL, error_message = NULL, progress = 1,
    finished_at = {NOW_MS}, {_TOUCH}, lease_expires_at = NULL
WHERE {_FENCE} RETURNING id
"""

#: With ``:retry_at`` and attempts left the job is queued again (keeping the error of the attempt that failed);
#: otherwise it ends ``failed``.
FAIL_JOB = f"""
UPDATE jobs SET
    status = CASE WHEN :retry_at IS NOT NULL AND attempts < max_attempts THEN 'queued' ELSE 'failed' END,
    run_after = CASE WHEN :retry_at IS NOT NULL AND attempts < max_attempts THEN :retry_at ELSE run_after END,
    finished_at = CASE WHEN :retry_at IS NOT NULL AND attempts < max_attempts THEN NULL ELSE {NOW_MS} END,
    error_code = :error_code, error_message = :error_message, lease_expires_at = NULL, {_TOUCH}
WHERE {_FENCE} RETURNING id
"""

#: The job keeps its ``run_after``, so it keeps its place at the front of the queue.
RELEASE_JOB = f"""
UPDATE jobs SET status = 'queued', attempts = MAX(attempts - 1, 0), progress = 0, started_at = NULL,
    lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, {_TOUCH}
WHERE {_FENCE} RETURNING id
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

SELECT_ASSET_VERSION_BY_JOB = f"SELECT {_ASSET_COLUMNS} FROM asset_versions WHERE job_id = :job_id"

SELECT_ASSET_VERSIONS = f"SELECT {_ASSET_COLUMNS} FROM asset_versions WHERE asset_id = :asset_id ORDER BY version"
