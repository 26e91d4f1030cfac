"""The PostgreSQL backend, for several bot replicas: psycopg 3, autocommit off, one explicit
transaction per operation (READ COMMITTED: a conditional UPDATE that lost a race re-checks its
WHERE against the winner's row and updates nothing)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from bot.store.conn import Dialect
from bot.store.rows import utc
from bot.store.sql import SqlStore

CONNECT_TIMEOUT_S = 5
SERVER_OPTIONS = "-c TimeZone=UTC -c statement_timeout=60000"


class PostgresDialect(Dialect):
    backend = "postgres"
    placeholder = "%s"

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.target, autocommit=False, connect_timeout=CONNECT_TIMEOUT_S,
                               application_name="aio-bot", options=SERVER_OPTIONS)

    def begin(self, conn: Any, write: bool) -> None:
        """psycopg opens the transaction with the first statement (autocommit is off)."""

    def to_db(self, when: datetime) -> datetime:
        return utc(when)

    def from_db(self, value: Any) -> datetime:
        if not isinstance(value, datetime):
            raise TypeError(f"expected a timestamptz, got {value!r}")
        return utc(value)

    def unavailable_errors(self) -> tuple[type[BaseException], ...]:
        return (psycopg.OperationalError,)

    def denied_errors(self) -> tuple[type[BaseException], ...]:
        return (psycopg.errors.InsufficientPrivilege,)

    def broken(self, conn: Any) -> bool:
        return bool(conn.closed or conn.broken)


class PostgresStore(SqlStore):
    def __init__(self, url: str) -> None:
        super().__init__(PostgresDialect(url))
