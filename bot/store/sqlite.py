"""The SQLite backend (the default): one file, WAL mode, writers serialised by
`BEGIN IMMEDIATE`, so two processes sharing the file can never both win a compare-and-set."""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime
from typing import Any

from bot.store.conn import Dialect
from bot.store.rows import from_iso, iso
from bot.store.sql import SqlStore

BUSY_TIMEOUT_MS = 30_000


class SqliteDialect(Dialect):
    backend = "sqlite"

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.target, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _enable_wal(conn)
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def begin(self, conn: Any, write: bool) -> None:
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    def to_db(self, when: datetime) -> str:
        return iso(when)

    def from_db(self, value: Any) -> datetime:
        return from_iso(value)

    def unavailable_errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.OperationalError,)


def _enable_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL. SQLite does not apply the busy timeout to this switch when
    another connection is busy with the file (e.g. two processes opening a new file), so retry
    until the timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


class SqliteStore(SqlStore):
    def __init__(self, path: str) -> None:
        super().__init__(SqliteDialect(path))
