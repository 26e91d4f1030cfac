"""The sync-driver-behind-an-async-facade part: one connection per store, guarded by a lock,
each operation one transaction run in a worker thread. Backends supply a `Dialect`."""

from __future__ import annotations

import asyncio
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from bot.store.dburl import Backend, StoreError, mask_url, scrub

T = TypeVar("T")
log = logging.getLogger("bot.store")


class Dialect(ABC):
    """What differs between SQLite and PostgreSQL."""

    backend: Backend
    placeholder = "?"

    def __init__(self, target: str) -> None:
        self.target = target  # a path or a conninfo URL (may hold a password: never log it)

    @abstractmethod
    def connect(self) -> Any: ...

    @abstractmethod
    def begin(self, conn: Any, write: bool) -> None: ...

    @abstractmethod
    def to_db(self, when: datetime) -> Any: ...

    @abstractmethod
    def from_db(self, value: Any) -> datetime: ...

    @abstractmethod
    def unavailable_errors(self) -> tuple[type[BaseException], ...]:
        """Driver errors meaning "the database cannot serve us now" (wrapped in StoreError)."""

    def denied_errors(self) -> tuple[type[BaseException], ...]:
        """Driver errors meaning "this role may not do that" (PostgreSQL grants)."""
        return ()

    def broken(self, conn: Any) -> bool:
        return False


class Tx:
    """A cursor inside one transaction; SQL is written with `?` placeholders."""

    def __init__(self, cursor: Any, dialect: Dialect) -> None:
        self._cur = cursor
        self.dialect = dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Tx:
        if self.dialect.placeholder != "?":
            sql = sql.replace("?", self.dialect.placeholder)
        if params:
            self._cur.execute(sql, tuple(params))
        else:  # no parameters: no placeholder parsing either
            self._cur.execute(sql)
        return self

    def one(self) -> tuple[Any, ...] | None:
        row = self._cur.fetchone()
        return None if row is None else tuple(row)

    def all(self) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._cur.fetchall()]


class _StaleConnection(Exception):
    """A reused connection turned out dead before the transaction could commit."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class Runner:
    """Runs `fn(tx)` as one transaction in a worker thread, one at a time per store."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._lock = threading.Lock()
        self._conn: Any = None
        self._closed = False

    def __repr__(self) -> str:
        return f"Runner({self.dialect.backend}, {mask_url(self.dialect.target)!r})"

    async def run(self, fn: Callable[[Tx], T], *, write: bool = True) -> T:
        return await asyncio.to_thread(self._run_sync, fn, write)

    def run_blocking(self, fn: Callable[[Tx], T], *, write: bool = True) -> T:
        """`run` for a caller already in a worker thread."""
        return self._run_sync(fn, write)

    async def close(self) -> None:
        await asyncio.to_thread(self._close_sync)

    def _run_sync(self, fn: Callable[[Tx], T], write: bool) -> T:
        with self._lock:
            try:
                return self._attempt(fn, write)
            except _StaleConnection:  # lost before commit: nothing was committed; once more
                log.warning("store connection to %s was lost; reconnecting",
                            mask_url(self.dialect.target))
                return self._attempt(fn, write)  # a fresh connection: never stale

    def _attempt(self, fn: Callable[[Tx], T], write: bool) -> T:
        committing = False
        reused = self._conn is not None
        try:
            conn = self._connection()
            self.dialect.begin(conn, write)
            result = fn(Tx(conn.cursor(), self.dialect))
            committing = True
            conn.commit()
            return result
        except BaseException as exc:
            self._rollback()
            if not isinstance(exc, self.dialect.unavailable_errors()):
                raise
            if reused and not committing and self._conn is None:
                raise _StaleConnection(exc) from exc  # safe to retry: nothing committed
            raise self._unavailable(exc) from exc

    def _connection(self) -> Any:
        if self._closed:
            raise StoreError("The store is closed.")
        if self._conn is not None and self.dialect.broken(self._conn):
            self._drop()
        if self._conn is None:
            self._conn = self.dialect.connect()
        return self._conn

    def _rollback(self) -> None:
        if self._conn is None:
            return
        try:
            self._conn.rollback()
        except Exception:  # the connection is unusable: forget it, reconnect next time
            self._drop()
            return
        if self.dialect.broken(self._conn):
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        try:
            conn.close()
        except Exception:
            log.debug("closing a broken store connection failed", exc_info=True)

    def _unavailable(self, exc: BaseException) -> StoreError:
        where = mask_url(self.dialect.target)
        why = scrub(str(exc).strip() or type(exc).__name__, self.dialect.target)
        return StoreError(f"The {self.dialect.backend} store at {where} failed: {why}")

    def _close_sync(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._drop()
