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
    "stage",
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
    "stage",
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
    # Deleting recordings: the library lists assets from their own table (the first version can be deleted now),
    # a deleted asset keeps a tombstone so no late job can record a version of it, and an asset's jobs are found
    # by the asset id in their payload.
    (
        4,
        (
            "CREATE TABLE assets (asset_id TEXT PRIMARY KEY, created_at INTEGER NOT NULL)",
            """INSERT INTO assets (asset_id, created_at)
            SELECT asset_id, MIN(created_at) FROM asset_versions GROUP BY asset_id""",
            "CREATE INDEX assets_created ON assets (created_at, asset_id)",
            "DROP INDEX asset_versions_first",
            "CREATE TABLE deleted_assets (asset_id TEXT PRIMARY KEY, deleted_at INTEGER NOT NULL)",
            "CREATE INDEX jobs_asset ON jobs (json_extract(payload, '$.assetId'))",
        ),
    ),
    # Long-polling reads the jobs that changed since its last look (``SELECT_CHANGED_JOB_SNAPSHOTS``'s ``:since``)
    # instead of every job it waits on.
    (5, ("CREATE INDEX jobs_updated ON jobs (updated_at)",)),
    # What the media store holds, so its total is known on every backend without listing it: one row per stored
    # object (``write_id`` empty) and one per write in progress (its reservation), and their sum kept in
    # ``media_totals`` by triggers, in the same transaction as every change.
    (
        6,
        (
            """CREATE TABLE media_objects (
                key TEXT NOT NULL,
                write_id TEXT NOT NULL,
                size_bytes INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (key, write_id)
            )""",
            "CREATE INDEX media_objects_writes ON media_objects (updated_at) WHERE write_id != ''",
            """CREATE TABLE media_totals (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                used_bytes INTEGER NOT NULL
            )""",
            "INSERT INTO media_totals (id, used_bytes) VALUES (1, 0)",
            """CREATE TRIGGER media_objects_added AFTER INSERT ON media_objects BEGIN
                UPDATE media_totals SET used_bytes = used_bytes + NEW.size_bytes WHERE id = 1;
            END""",
            """CREATE TRIGGER media_objects_resized AFTER UPDATE OF size_bytes ON media_objects BEGIN
                UPDATE media_totals SET used_bytes = used_bytes - OLD.size_bytes + NEW.size_bytes WHERE id = 1;
            END""",
            """CREATE TRIGGER media_objects_removed AFTER DELETE ON media_objects BEGIN
                UPDATE media_totals SET used_bytes = used_bytes - OLD.size_bytes WHERE id = 1;
            END""",
        ),
    ),
    # What a running job is doing now ("measuring", "encoding"), written with its progress and shown by polls.
    (7, ("ALTER TABLE jobs ADD COLUMN stage TEXT",)),
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

_SNAPSHOT_COLUMNS = ", ".join("jobs." + column for column in JOB_SNAPSHOT_COLUMNS)

#: The poll fields of the jobs whose ``updated_at`` differs from the one given (``:known`` is a JSON object
#: ``{id: updated_at}``), in one read; unchanged jobs cost a lookup and send nothing back. A job no longer in the
#: store comes back as its id with every other column NULL. Then every job updated after ``:since`` (none when it
#: is NULL), found through ``jobs_updated``: what a reader that looks often needs, at a cost that follows the
#: rate of writes rather than the number of jobs it follows.
SELECT_CHANGED_JOB_SNAPSHOTS = f"""
SELECT known.key, {_SNAPSHOT_COLUMNS}
FROM json_each(:known) AS known LEFT JOIN jobs ON jobs.id = known.key
WHERE jobs.id IS NULL OR jobs.updated_at != known.value
UNION ALL
SELECT jobs.id, {_SNAPSHOT_COLUMNS} FROM jobs WHERE jobs.updated_at > :since
"""

#: The latest ``updated_at`` of any job: one step down ``jobs_updated``.
SELECT_NEWEST_JOB_UPDATE = "SELECT MAX(updated_at) FROM jobs"

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
UPDATE jobs SET status = 'queued', attempts = 0, progress = 0, stage = NULL, result = NULL, error_code = NULL,
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
UPDATE jobs SET status = 'running', attempts = attempts + 1, progress = 0, stage = NULL, lease_owner = :worker_id,
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

SET_PROGRESS = f"UPDATE jobs SET progress = :progress, stage = :stage, {_TOUCH} WHERE {_FENCE} RETURNING id"

COMPLETE_JOB = f"""
UPDATE jobs SET status = 'completed', result = :result, error_code = NULL, error_message = NULL, progress = 1,
    stage = NULL, finished_at = {NOW_MS}, {_TOUCH}, lease_expires_at = NULL
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
UPDATE jobs SET status = 'queued', attempts = MAX(attempts - 1, 0), progress = 0, stage = NULL, started_at = NULL,
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
RETURNING {_COLUMNS}
"""

#: A finished job's row, gone with its files (a deleted render); a queued or running job is left alone.
DELETE_FINISHED_JOB = f"""
DELETE FROM jobs WHERE id = :id AND status IN ('completed', 'failed', 'cancelled') RETURNING {_COLUMNS}
"""

#: Every job and every asset version, read together for the media garbage collector.
SELECT_ALL_JOBS = f"SELECT {_COLUMNS} FROM jobs"
SELECT_ALL_ASSET_VERSIONS = f"SELECT {_ASSET_COLUMNS} FROM asset_versions"

# -- assets ---------------------------------------------------------------------------------------------------

#: True while ``:asset_id`` has not been deleted: a deleted asset never gets a version again.
_NOT_DELETED = "NOT EXISTS (SELECT 1 FROM deleted_assets WHERE asset_id = :asset_id)"

#: The next version number is computed and written in one statement, under the write lock. A job that already
#: recorded a version gets nothing inserted (``job_id`` is unique) and reads its version back.
INSERT_ASSET_VERSION = f"""
INSERT INTO asset_versions (asset_id, version, job_id, created_at, info)
SELECT :asset_id, next_version, :job_id, {NOW_MS}, :info
FROM (SELECT COALESCE(MAX(version), 0) + 1 AS next_version FROM asset_versions WHERE asset_id = :asset_id)
WHERE {_NOT_DELETED}
ON CONFLICT (job_id) DO NOTHING
"""

#: After a version insert: the asset's row in the library, made by its first version (``:job_id``'s, if recorded).
INSERT_ASSET = """
INSERT OR IGNORE INTO assets (asset_id, created_at)
SELECT asset_id, created_at FROM asset_versions WHERE job_id = :job_id
"""

#: The version a job's completion records: inserted only while the job still runs under the completing lease, so
#: a run that lost its lease can never publish its files as a version. Completion is in the same transaction.
INSERT_COMPLETED_ASSET_VERSION = f"""
INSERT INTO asset_versions (asset_id, version, job_id, created_at, info)
SELECT :asset_id, next_version, :id, {NOW_MS}, :info
FROM (SELECT COALESCE(MAX(version), 0) + 1 AS next_version FROM asset_versions WHERE asset_id = :asset_id)
WHERE EXISTS (SELECT 1 FROM jobs WHERE {_FENCE}) AND {_NOT_DELETED}
ON CONFLICT (job_id) DO NOTHING
"""

#: In the completion's batch: a job whose asset was deleted while it ran fails instead of completing (no version
#: was inserted for it), under the same fence.
FAIL_JOB_OF_DELETED_ASSET = f"""
UPDATE jobs SET status = 'failed', error_code = 'asset_deleted',
    error_message = 'the asset was deleted while this job ran; nothing was recorded',
    finished_at = {NOW_MS}, lease_expires_at = NULL, {_TOUCH}
WHERE {_FENCE} AND NOT {_NOT_DELETED}
RETURNING id
"""

#: ``COMPLETE_JOB`` for a job whose result is a new asset version: the version number the insert above gave out
#: goes into the result, and the job completes only if that version holds exactly this run's ``info``.
COMPLETE_JOB_WITH_ASSET_VERSION = f"""
UPDATE jobs SET status = 'completed',
    result = json_set(:result, '$.version', (SELECT version FROM asset_versions WHERE job_id = :id)),
    error_code = NULL, error_message = NULL, progress = 1, stage = NULL,
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


# An asset is listed by its row in ``assets`` (``a``), so a page walks ``assets_created`` in order and stops at
# ``:limit``; only the page's assets are then summed up, each by its primary key. Its title is its rename's, else
# its earliest remaining version's (``f``).
_ASSET_SUMMARY = f"""
SELECT a.asset_id, COALESCE(t.title, {_json_field("f.info", "$.title")}, ''), a.created_at,
    MAX(l.created_at, COALESCE(t.updated_at, 0)),
    (SELECT COUNT(*) FROM asset_versions AS c WHERE c.asset_id = a.asset_id),
    l.version, {_json_field("l.info", "$.durationSec")}, {_json_field("l.info", "$.loudness")},
    (SELECT COALESCE(SUM({_json_field("s.info", "$.sizeBytes")}), 0) FROM asset_versions AS s
        WHERE s.asset_id = a.asset_id)
FROM assets AS a
JOIN asset_versions AS f ON f.asset_id = a.asset_id
    AND f.version = (SELECT MIN(m.version) FROM asset_versions AS m WHERE m.asset_id = a.asset_id)
JOIN asset_versions AS l ON l.asset_id = a.asset_id
    AND l.version = (SELECT MAX(m.version) FROM asset_versions AS m WHERE m.asset_id = a.asset_id)
LEFT JOIN asset_titles AS t ON t.asset_id = a.asset_id
WHERE true"""

_NEWEST_FIRST = "ORDER BY a.created_at DESC, a.asset_id DESC LIMIT :limit"

#: Newest first; the order (creation time, then id) never changes, so a page ends where the next one starts.
LIST_ASSETS = f"{_ASSET_SUMMARY} {_NEWEST_FIRST}"

#: The page after the asset created at ``:before_created_at`` with id ``:before_asset_id``.
LIST_ASSETS_BEFORE = (
    f"{_ASSET_SUMMARY} AND (a.created_at, a.asset_id) < (:before_created_at, :before_asset_id) {_NEWEST_FIRST}"
)

SELECT_ASSET_SUMMARY = f"{_ASSET_SUMMARY} AND a.asset_id = :asset_id"

#: Only an asset that has a version can be renamed.
RENAME_ASSET = f"""
INSERT INTO asset_titles (asset_id, title, updated_at)
SELECT :asset_id, :title, {NOW_MS} WHERE EXISTS (SELECT 1 FROM asset_versions WHERE asset_id = :asset_id)
ON CONFLICT (asset_id) DO UPDATE SET title = excluded.title, updated_at = excluded.updated_at
"""

# -- deleting ---------------------------------------------------------------------------------------------------

#: Every statement of an asset's deletion acts only while the asset still has a version, so deleting an unknown
#: or already deleted asset changes nothing.
_ASSET_EXISTS = "EXISTS (SELECT 1 FROM asset_versions WHERE asset_id = :asset_id)"
_OF_ASSET = "json_extract(payload, '$.assetId') = :asset_id"

#: The deletion's batch, in this order: the tombstone, the finished jobs (their rows, returned so their files can
#: be removed), the queued and running jobs cancelled (their runs remove their own output), then the asset's
#: versions (returned), title and library row.
INSERT_DELETED_ASSET = f"""
INSERT OR IGNORE INTO deleted_assets (asset_id, deleted_at) SELECT :asset_id, {NOW_MS} WHERE {_ASSET_EXISTS}
"""
DELETE_FINISHED_JOBS_OF_ASSET = f"""
DELETE FROM jobs WHERE {_OF_ASSET} AND status IN ('completed', 'failed', 'cancelled') AND {_ASSET_EXISTS}
RETURNING {_COLUMNS}
"""
CANCEL_JOBS_OF_ASSET = f"""
UPDATE jobs SET status = 'cancelled', error_code = 'asset_deleted', error_message = 'the asset was deleted',
    finished_at = {NOW_MS}, {_TOUCH}, lease_expires_at = NULL
WHERE {_OF_ASSET} AND status IN ('queued', 'running') AND {_ASSET_EXISTS}
RETURNING id
"""
DELETE_ASSET_VERSIONS = f"DELETE FROM asset_versions WHERE asset_id = :asset_id RETURNING {_ASSET_COLUMNS}"
DELETE_ASSET_TITLE = "DELETE FROM asset_titles WHERE asset_id = :asset_id"
DELETE_ASSET = "DELETE FROM assets WHERE asset_id = :asset_id"

SELECT_ASSET_VERSION = f"SELECT {_ASSET_COLUMNS} FROM asset_versions WHERE asset_id = :asset_id AND version = :version"

#: One version, never the asset's last: with no other version nothing is deleted.
DELETE_ASSET_VERSION = f"""
DELETE FROM asset_versions WHERE asset_id = :asset_id AND version = :version
AND EXISTS (SELECT 1 FROM asset_versions WHERE asset_id = :asset_id AND version != :version)
RETURNING {_ASSET_COLUMNS}
"""

#: After a version's deletion: the finished job that made it goes too (its result names the deleted files).
DELETE_JOB_OF_DELETED_VERSION = """
DELETE FROM jobs WHERE id = :job_id AND status IN ('completed', 'failed', 'cancelled')
AND NOT EXISTS (SELECT 1 FROM asset_versions WHERE job_id = :job_id)
"""

# -- media accounting -----------------------------------------------------------------------------------------

SELECT_MEDIA_USED_BYTES = "SELECT used_bytes FROM media_totals WHERE id = 1"

#: A write's reservation of ``:size_bytes`` (made, or grown to that size), taken only while the media store's total
#: with it stays within ``:limit_bytes`` (NULL: no limit). One statement, so two writes racing for the last bytes
#: cannot both get them. Returns a row when taken.
RESERVE_MEDIA_BYTES = f"""
INSERT INTO media_objects (key, write_id, size_bytes, updated_at)
SELECT :key, :write_id, :size_bytes, {NOW_MS}
WHERE :limit_bytes IS NULL OR (SELECT used_bytes FROM media_totals WHERE id = 1) + :size_bytes
    - COALESCE((SELECT size_bytes FROM media_objects WHERE key = :key AND write_id = :write_id), 0) <= :limit_bytes
ON CONFLICT (key, write_id) DO UPDATE SET size_bytes = excluded.size_bytes, updated_at = excluded.updated_at
RETURNING size_bytes
"""

#: Reservations of writes whose process died mid-way: no write lasts a day, so older ones free their bytes.
EXPIRE_MEDIA_RESERVATIONS = f"""
DELETE FROM media_objects INDEXED BY media_objects_writes
WHERE write_id != '' AND updated_at < {NOW_MS} - :older_than_ms
"""

RELEASE_MEDIA_RESERVATION = "DELETE FROM media_objects WHERE key = :key AND write_id = :write_id"

#: A stored object's size (after its write's reservation was released in the same batch); a replaced object's
#: row takes the new size.
RECORD_MEDIA_OBJECT = f"""
INSERT INTO media_objects (key, write_id, size_bytes, updated_at) VALUES (:key, '', :size_bytes, {NOW_MS})
ON CONFLICT (key, write_id) DO UPDATE SET size_bytes = excluded.size_bytes, updated_at = excluded.updated_at
"""

FORGET_MEDIA_OBJECT = "DELETE FROM media_objects WHERE key = :key AND write_id = ''"

#: Every stored object below the folder ``:prefix`` (keys from ``prefix/`` up to ``prefix0``, ``0`` following ``/``).
FORGET_MEDIA_PREFIX = """
DELETE FROM media_objects WHERE key >= :prefix || '/' AND key < :prefix || '0' AND write_id = ''
"""

SELECT_NOW_MS = f"SELECT {NOW_MS}"

#: A recount (``python -m workers media-usage --recount``) from a listing of the media store taken since
#: ``:listed_since_ms`` (``:objects``: a JSON array of ``[key, size]``). Records older than the listing that it
#: does not hold are dropped; the listed objects are recorded with their listed sizes, unless a write recorded
#: them since the listing began. Reservations (writes in progress) are left to their writers.
DROP_UNLISTED_MEDIA_OBJECTS = """
DELETE FROM media_objects
WHERE write_id = '' AND updated_at < :listed_since_ms
    AND key NOT IN (SELECT json_extract(value, '$[0]') FROM json_each(:objects))
"""
RECORD_LISTED_MEDIA_OBJECTS = f"""
INSERT INTO media_objects (key, write_id, size_bytes, updated_at)
SELECT json_extract(value, '$[0]'), '', json_extract(value, '$[1]'), {NOW_MS} FROM json_each(:objects) WHERE true
ON CONFLICT (key, write_id) DO UPDATE SET size_bytes = excluded.size_bytes, updated_at = excluded.updated_at
WHERE media_objects.updated_at < :listed_since_ms
"""
