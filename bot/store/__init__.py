"""The bot's store (see `bot.store.api`): remediation requests and their hash-chained audit
trail, leases with fencing tokens, Slack deliveries, and the history (snapshots, incidents,
scheduled-job firings).

`open_store(url)` picks the backend: a file path or `sqlite:///path` → SQLite (the default,
`aio-bot.db`), `postgresql://user:password@host/db` → PostgreSQL (several replicas). The
caller reads the URL from `AIO_BOT_DB`. Schema changes are an explicit step: `await
store.migrate()` (`aio-bot migrate`, as the database owner); a running bot checks
`await store.require_schema()` at start-up, which raises `SchemaOutOfDate` ("run `aio-bot
migrate`") when the database is behind. `await store.verify_audit()` checks the audit trail's
hash chain (`aio-bot audit verify`). PostgreSQL grants for the bot's role: `bot.store.grants`,
docs/database.md."""

from __future__ import annotations

import os
from collections.abc import Mapping

from bot.store.api import FINAL, TRANSITIONS, AuditEntry, NewRequest, Request, State, Store
from bot.store.audit_chain import ChainReport
from bot.store.dburl import StoreError, mask_url, parse_url
from bot.store.schema import SchemaOutOfDate, SchemaStatus

DEFAULT_URL = "aio-bot.db"
ENV_VAR = "AIO_BOT_DB"

__all__ = ["DEFAULT_URL", "ENV_VAR", "FINAL", "TRANSITIONS", "AuditEntry", "ChainReport",
           "NewRequest", "Request", "SchemaOutOfDate", "SchemaStatus", "State", "Store",
           "StoreError", "mask_url", "open_store", "store_url"]


def store_url(env: Mapping[str, str] = os.environ) -> str:
    """The store URL from `AIO_BOT_DB`, or the default SQLite file."""
    return env.get(ENV_VAR, "").strip() or DEFAULT_URL


def open_store(url: str) -> Store:
    """A store for `url` (no connection yet: the first operation connects)."""
    parsed = parse_url(url)
    if parsed.backend == "postgres":
        try:
            from bot.store.postgres import PostgresStore
        except ImportError as exc:
            raise StoreError("A postgresql:// store needs psycopg: pip install "
                             "'aio-bot[postgres]'.") from exc
        return PostgresStore(parsed.target)
    from bot.store.sqlite import SqliteStore

    return SqliteStore(parsed.target)
