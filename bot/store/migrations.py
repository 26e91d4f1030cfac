"""Versioned schema migrations for both backends.

`schema_version` records every applied migration. `apply()` runs inside one write
transaction that first serialises concurrent callers (PostgreSQL: a transaction-scoped
advisory lock; SQLite: the caller's `BEGIN IMMEDIATE`), then applies the pending migrations in
order and records them, so running it twice, or from two processes at once, is harmless.

To change the schema, append a `Migration` with the next version; never edit an applied one.
Adding a table (e.g. history snapshots) is one more entry; a step that must compute (e.g.
hashing existing rows) goes in `after`, which runs in the same transaction. A new table also
needs its line in `bot.store.grants.TABLE_PRIVILEGES` (a test checks).

Migrating is an explicit step (`aio-bot migrate`, as the tables' owner); the running bot only
reads the version (`bot.store.schema.schema_status`) and refuses to start when behind."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.store import audit_chain
from bot.store.conn import Tx
from bot.store.dburl import Backend, StoreError


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]
    after: Callable[[Tx], None] | None = None  # runs after the statements, same transaction

    def statements(self, backend: Backend) -> tuple[str, ...]:
        return self.sqlite if backend == "sqlite" else self.postgres


_REQUESTS = """CREATE TABLE requests (
    id {id},
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    host TEXT NOT NULL,
    params TEXT NOT NULL DEFAULT '{{}}',
    state TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    approved_by TEXT,
    channel TEXT,
    message_ts TEXT,
    outcome TEXT,
    created_at {ts} NOT NULL,
    expires_at {ts} NOT NULL,
    updated_at {ts} NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
)"""
_AUDIT = """CREATE TABLE audit (
    id {id},
    request_id BIGINT REFERENCES requests(id),
    host TEXT,
    at {ts} NOT NULL,
    actor TEXT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{{}}'
)"""
_INDEXES = (
    "CREATE INDEX requests_state_expires ON requests (state, expires_at)",
    "CREATE INDEX requests_host ON requests (host, id)",
    "CREATE INDEX audit_request ON audit (request_id, id)",
    "CREATE INDEX audit_host ON audit (host, id)",
)
_SQLITE = {"id": "INTEGER PRIMARY KEY AUTOINCREMENT", "ts": "TEXT"}
_PG = {"id": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "ts": "TIMESTAMPTZ"}

_SQLITE_APPEND_ONLY = tuple(
    f"CREATE TRIGGER audit_no_{op.lower()} BEFORE {op} ON audit "
    "BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END"
    for op in ("UPDATE", "DELETE")
)
_PG_APPEND_ONLY = (
    "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit is append-only'; END $$",
    "CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit "
    "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
    "CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
)
_LEASES = """CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at {ts} NOT NULL,
    acquired_at {ts} NOT NULL
)"""

_LEASE_FENCING = "ALTER TABLE leases ADD COLUMN token BIGINT NOT NULL DEFAULT 0"

# One row per host of a fleet scan shared by replicas (bot.scanshare): pending -> taken
# (holder, lease_until) -> done (result: the raw read or the failure, as JSON).
_SCAN_ITEMS = """CREATE TABLE scan_items (
    scan_id TEXT NOT NULL,
    host TEXT NOT NULL,
    position INTEGER NOT NULL,
    scan_at {ts} NOT NULL,
    state TEXT NOT NULL,
    holder TEXT,
    lease_until {ts},
    result TEXT,
    created_at {ts} NOT NULL,
    PRIMARY KEY (scan_id, host)
)"""
_SCAN_ITEMS_INDEX = "CREATE INDEX scan_items_open ON scan_items (state, created_at, position)"

_DELIVERIES = """CREATE TABLE deliveries (
    key TEXT PRIMARY KEY,
    seen_at {ts} NOT NULL
)"""
_DELIVERIES_INDEX = "CREATE INDEX deliveries_seen ON deliveries (seen_at)"

_SNAPSHOTS = """CREATE TABLE snapshots (
    id {id},
    host TEXT NOT NULL,
    cluster TEXT,
    at {ts} NOT NULL,
    in_use INTEGER NOT NULL,
    runtime_limit INTEGER NOT NULL,
    configured_limit INTEGER,
    fds_warnings INTEGER NOT NULL DEFAULT 0,
    fds_last {ts},
    hostd_restarts INTEGER NOT NULL DEFAULT 0,
    hostd_dumps INTEGER NOT NULL DEFAULT 0,
    hostd_last {ts},
    top_vms TEXT NOT NULL DEFAULT '[]',
    UNIQUE (host, at)
)"""
_ALERTS = """CREATE TABLE alerts (
    id {id},
    host TEXT NOT NULL,
    opened_at {ts} NOT NULL,
    updated_at {ts} NOT NULL,
    resolved_at {ts},
    level TEXT NOT NULL,
    peak_level TEXT NOT NULL,
    channel TEXT,
    message_ts TEXT,
    last_state TEXT NOT NULL DEFAULT '{{}}',
    version INTEGER NOT NULL DEFAULT 1
)"""
_JOB_RUNS = """CREATE TABLE job_runs (
    job TEXT NOT NULL,
    fire_at {ts} NOT NULL,
    holder TEXT NOT NULL,
    started_at {ts} NOT NULL,
    finished_at {ts},
    outcome TEXT,
    PRIMARY KEY (job, fire_at)
)"""
_HISTORY_INDEXES = (
    "CREATE INDEX snapshots_at ON snapshots (at)",
    # one active incident per host: two replicas can never both open one
    "CREATE UNIQUE INDEX alerts_one_active ON alerts (host) WHERE resolved_at IS NULL",
    "CREATE INDEX alerts_opened ON alerts (opened_at)",
)


def _history(dialect: dict[str, str]) -> tuple[str, ...]:
    return (_SNAPSHOTS.format(**dialect), _ALERTS.format(**dialect),
            _JOB_RUNS.format(**dialect), *_HISTORY_INDEXES)


_AUDIT_CHAIN = """CREATE TABLE audit_chain (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_id BIGINT NOT NULL,
    hash TEXT NOT NULL,
    rows BIGINT NOT NULL
)"""
_CHAIN_COLUMNS = ("ALTER TABLE audit ADD COLUMN prev_hash TEXT",
                  "ALTER TABLE audit ADD COLUMN hash TEXT")
# rows written around the chain are refused (existing rows are sealed by `after`)
_SQLITE_CHAIN = (*_CHAIN_COLUMNS, _AUDIT_CHAIN,
                 "CREATE TRIGGER audit_needs_hash BEFORE INSERT ON audit"
                 " WHEN NEW.hash IS NULL OR NEW.prev_hash IS NULL"
                 " BEGIN SELECT RAISE(ABORT, 'audit rows need their chain hash'); END")
_PG_CHAIN = (*_CHAIN_COLUMNS, _AUDIT_CHAIN)


def _seal_audit(tx: Tx) -> None:
    audit_chain.seal_existing(tx)
    if tx.dialect.backend == "postgres":
        tx.execute("ALTER TABLE audit ALTER COLUMN prev_hash SET NOT NULL,"
                   " ALTER COLUMN hash SET NOT NULL")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1, "requests and append-only audit",
        sqlite=(_REQUESTS.format(**_SQLITE), _AUDIT.format(**_SQLITE), *_INDEXES,
                *_SQLITE_APPEND_ONLY),
        postgres=(_REQUESTS.format(**_PG), _AUDIT.format(**_PG), *_INDEXES, *_PG_APPEND_ONLY),
    ),
    Migration(2, "leases for once-only scheduled work",
              sqlite=(_LEASES.format(**_SQLITE),), postgres=(_LEASES.format(**_PG),)),
    Migration(3, "history: snapshots, alert incidents, scheduled-job firings",
              sqlite=_history(_SQLITE), postgres=_history(_PG)),
    Migration(4, "Slack deliveries seen by any replica",
              sqlite=(_DELIVERIES.format(**_SQLITE), _DELIVERIES_INDEX),
              postgres=(_DELIVERIES.format(**_PG), _DELIVERIES_INDEX)),
    Migration(5, "audit rows chained by hash",
              sqlite=_SQLITE_CHAIN, postgres=_PG_CHAIN, after=_seal_audit),
    Migration(6, "fencing tokens: a lease's token grows at every change of holder",
              sqlite=(_LEASE_FENCING,), postgres=(_LEASE_FENCING,)),
    Migration(7, "per-host work items of fleet scans shared by replicas",
              sqlite=(_SCAN_ITEMS.format(**_SQLITE), _SCAN_ITEMS_INDEX),
              postgres=(_SCAN_ITEMS.format(**_PG), _SCAN_ITEMS_INDEX)),
)
LATEST = MIGRATIONS[-1].version

# pg_advisory_xact_lock key: any constant bigint unique to this program ("aiobotmg").
_PG_LOCK_KEY = 0x61696F626F746D67
_SCHEMA_VERSION = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""


def apply(tx: Tx, backend: Backend, upto: int = LATEST) -> int:
    """Apply the pending migrations (up to version `upto`) inside the caller's write
    transaction; the version after."""
    if backend == "postgres":
        tx.execute("SELECT pg_advisory_xact_lock(?)", (_PG_LOCK_KEY,))
    tx.execute(_SCHEMA_VERSION)
    current = current_version(tx)
    if current > LATEST:
        raise StoreError(f"The database schema is at version {current}, newer than this "
                         f"aio-bot knows ({LATEST}); upgrade aio-bot.")
    for migration in MIGRATIONS:
        if current < migration.version <= upto:
            for statement in migration.statements(backend):
                tx.execute(statement)
            if migration.after is not None:
                migration.after(tx)
            tx.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                       (migration.version, migration.name, datetime.now(UTC).isoformat()))
            current = migration.version
    return current


def current_version(tx: Tx) -> int:
    row = tx.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").one()
    return int(row[0]) if row else 0
