"""The schema version, read without changing anything: start-up checks it and refuses to run
on a database that `aio-bot migrate` has not brought up to date (or that a newer aio-bot has
moved past). Reading needs only SELECT, so the bot's own database role can do it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.conn import Tx
from bot.store.dburl import StoreError
from bot.store.migrations import LATEST, current_version


class SchemaOutOfDate(StoreError):
    """The database schema is not the one this aio-bot needs; `str(err)` says what to do."""

    def __init__(self, status: SchemaStatus) -> None:
        super().__init__(status.message())
        self.status = status


@dataclass(frozen=True)
class SchemaStatus:
    """`current`: the database's schema version (0: none yet); `wanted`: this aio-bot's."""

    current: int
    wanted: int = LATEST

    @property
    def ok(self) -> bool:
        return self.current == self.wanted

    @property
    def behind(self) -> bool:
        """True when `aio-bot migrate` has work to do."""
        return self.current < self.wanted

    @property
    def ahead(self) -> bool:
        """True when a newer aio-bot migrated this database."""
        return self.current > self.wanted

    def message(self) -> str:
        if self.ok:
            return f"The database schema is up to date (version {self.current})."
        if self.ahead:
            return (f"The database schema is at version {self.current}, newer than this "
                    f"aio-bot knows ({self.wanted}): upgrade aio-bot.")
        if self.current == 0:
            return ("The database has no aio-bot schema yet: run `aio-bot migrate` "
                    "(as the database owner) before starting the bot.")
        return (f"The database schema is at version {self.current}, this aio-bot needs "
                f"{self.wanted}: run `aio-bot migrate` (as the database owner) before "
                "starting the bot.")

    def require(self) -> None:
        """Raise `SchemaOutOfDate` unless the schema is exactly the wanted one."""
        if not self.ok:
            raise SchemaOutOfDate(self)


def read_status(tx: Tx) -> SchemaStatus:
    """The schema version, without creating or changing anything."""
    if tx.dialect.backend == "postgres":
        row = tx.execute("SELECT to_regclass('schema_version') IS NOT NULL").one()
    else:
        row = tx.execute("SELECT COUNT(*) FROM sqlite_master"
                         " WHERE type = 'table' AND name = 'schema_version'").one()
    exists = bool(row and row[0])
    return SchemaStatus(current_version(tx) if exists else 0)
