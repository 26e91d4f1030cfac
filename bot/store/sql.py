"""The Store, in SQL both backends understand. Every state change is one conditional UPDATE
(compare-and-set on `state`) plus its audit row, in one transaction; the audit table only
ever sees INSERTs (and the schema refuses anything else).

Only our own constant column lists, column names and `?` marks are ever formatted into SQL;
every value is a bound parameter."""
# ruff: noqa: S608

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.history.records import AlertRecord, Snapshot
from bot.store import audit_chain, history, migrations, schema
from bot.store.api import TRANSITIONS, AuditEntry, NewRequest, Request, State
from bot.store.conn import Dialect, Runner, Tx
from bot.store.dburl import StoreError, mask_url, scrub
from bot.store.rows import (
    AUDIT_COLUMNS,
    REQUEST_COLUMNS,
    dump_json,
    iso,
    to_audit,
    to_request,
)
from bot.store.scan_items import ScanItems

log = logging.getLogger("bot.store")
SYSTEM_ACTOR = "aio-bot"


class SqlStore(ScanItems):
    """`bot.store.api.Store` over a `Dialect` (SQLite or PostgreSQL)."""

    def __init__(self, dialect: Dialect) -> None:
        self._d = dialect
        self._runner = Runner(dialect)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({mask_url(self._d.target)!r})"

    async def migrate(self) -> int:
        """Apply pending migrations (the explicit `aio-bot migrate` step, as the tables'
        owner); the version after. Up to date already: nothing is run, so a role without
        DDL rights may call it too."""
        status = await self.schema_status()
        if status.ok:
            return status.current
        try:
            version = await self._runner.run(lambda tx: migrations.apply(tx, self._d.backend))
        except self._d.denied_errors() as exc:
            why = scrub((str(exc).strip().splitlines() or ["denied"])[0], self._d.target)
            raise StoreError(f"The database role may not change the schema ({why}): run "
                             "`aio-bot migrate` as the role that owns the tables.") from exc
        log.info("store %s migrated from schema version %d to %d", mask_url(self._d.target),
                 status.current, version)
        return version

    async def schema_status(self) -> schema.SchemaStatus:
        """The database's schema version against this aio-bot's, changing nothing."""
        return await self._runner.run(schema.read_status, write=False)

    async def require_schema(self) -> schema.SchemaStatus:
        """The status when the schema is exactly the wanted one; else `SchemaOutOfDate`
        (a StoreError whose message says to run `aio-bot migrate`, or to upgrade)."""
        status = await self.schema_status()
        status.require()
        return status

    async def verify_audit(self) -> audit_chain.ChainReport:
        """Check the audit hash chain, first row to last: OK with the count, or the first
        broken row and why. Reads in batches, while others may append."""
        at_text = audit_chain.at_text_for(self._d.from_db)

        def head() -> audit_chain.Head:
            return self._runner.run_blocking(audit_chain.read_head, write=False)

        def read(after: int) -> list[tuple[Any, ...]]:
            return self._runner.run_blocking(lambda tx: audit_chain.read_batch(tx, after),
                                             write=False)

        return await asyncio.to_thread(audit_chain.verify, head, read, at_text)

    async def create(self, new: NewRequest, *, now: datetime) -> Request:
        def op(tx: Tx) -> Request:
            row = tx.execute(
                "INSERT INTO requests (kind, target, host, params, state, requested_by, channel,"
                " created_at, expires_at, updated_at, version) VALUES (?,?,?,?,?,?,?,?,?,?,1)"
                f" RETURNING {REQUEST_COLUMNS}",
                (new.kind, new.target, new.host, dump_json(new.params), State.PROPOSED.value,
                 new.requested_by, new.channel, self._d.to_db(now),
                 self._d.to_db(new.expires_at), self._d.to_db(now))).one()
            request = to_request(_must(row), self._d.from_db)
            detail = {"kind": new.kind, "target": new.target, "params": new.params}
            self._audit(tx, request.id, new.host, new.requested_by, "proposed", detail, now)
            return request
        return await self._runner.run(op)

    async def get(self, request_id: int) -> Request | None:
        sql = f"SELECT {REQUEST_COLUMNS} FROM requests WHERE id = ?"
        row = await self._runner.run(lambda tx: tx.execute(sql, (request_id,)).one(),
                                     write=False)
        return None if row is None else to_request(row, self._d.from_db)

    async def transition(self, request_id: int, expected: State, new: State, *, actor: str,
                         now: datetime, detail: dict[str, Any] | None = None,
                         approved_by: str | None = None,
                         outcome: str | None = None) -> Request | None:
        if new not in TRANSITIONS.get(expected, frozenset()):
            raise ValueError(f"transition {expected.value} -> {new.value} is not allowed")

        def op(tx: Tx) -> Request | None:
            row = tx.execute(
                "UPDATE requests SET state = ?, version = version + 1, updated_at = ?,"
                " approved_by = COALESCE(?, approved_by), outcome = COALESCE(?, outcome)"
                f" WHERE id = ? AND state = ? RETURNING {REQUEST_COLUMNS}",
                (new.value, self._d.to_db(now), approved_by, outcome, request_id,
                 expected.value)).one()
            if row is None:
                return None
            request = to_request(row, self._d.from_db)
            self._audit(tx, request.id, request.host, actor, new.value, detail or {}, now)
            return request
        return await self._runner.run(op)

    async def set_message(self, request_id: int, channel: str, ts: str) -> None:
        def op(tx: Tx) -> None:
            row = tx.execute("UPDATE requests SET channel = ?, message_ts = ? WHERE id = ?"
                             " RETURNING id", (channel, ts, request_id)).one()
            if row is None:
                raise KeyError(f"no request {request_id}")
        await self._runner.run(op)

    async def audit(self, request_id: int | None, host: str | None, actor: str, event: str,
                    detail: dict[str, Any], *, now: datetime) -> AuditEntry:
        return await self._runner.run(
            lambda tx: self._audit(tx, request_id, host, actor, event, detail, now))

    async def audit_trail(self, *, host: str | None = None, request_id: int | None = None,
                          limit: int = 100) -> list[AuditEntry]:
        where, params = _filters(("host", host), ("request_id", request_id))
        sql = f"SELECT {AUDIT_COLUMNS} FROM audit{where} ORDER BY id DESC LIMIT ?"
        rows = await self._runner.run(lambda tx: tx.execute(sql, (*params, limit)).all(),
                                      write=False)
        return [to_audit(row, self._d.from_db) for row in reversed(rows)]

    async def requests(self, *, host: str | None = None, states: frozenset[State] | None = None,
                       limit: int = 100) -> list[Request]:
        """The newest `limit` matching requests, newest last."""
        if states is not None and not states:
            return []
        where, params = _filters(("host", host))
        if states:
            marks = ", ".join("?" * len(states))
            where += (" AND" if where else " WHERE") + f" state IN ({marks})"
            params += sorted(s.value for s in states)
        sql = f"SELECT {REQUEST_COLUMNS} FROM requests{where} ORDER BY id DESC LIMIT ?"
        rows = await self._runner.run(lambda tx: tx.execute(sql, (*params, limit)).all(),
                                      write=False)
        return [to_request(row, self._d.from_db) for row in reversed(rows)]

    async def expire_due(self, *, now: datetime) -> list[Request]:
        def op(tx: Tx) -> list[Request]:
            rows = tx.execute(
                "UPDATE requests SET state = ?, version = version + 1, updated_at = ?"
                f" WHERE state = ? AND expires_at <= ? RETURNING {REQUEST_COLUMNS}",
                (State.EXPIRED.value, self._d.to_db(now), State.PROPOSED.value,
                 self._d.to_db(now))).all()
            moved = sorted((to_request(r, self._d.from_db) for r in rows), key=lambda r: r.id)
            for r in moved:
                detail = {"expires_at": r.expires_at.isoformat()}
                self._audit(tx, r.id, r.host, SYSTEM_ACTOR, State.EXPIRED.value, detail, now)
            return moved
        return await self._runner.run(op)

    async def lease(self, name: str, holder: str, ttl_seconds: float, now: datetime) -> bool:
        """Take or renew the lease `name` for `ttl_seconds`: granted when it is free, expired,
        or already `holder`'s (one conditional upsert, so two replicas never both hold it)."""
        return await self.fence(name, holder, ttl_seconds, now) is not None

    async def fence(self, name: str, holder: str, ttl_seconds: float,
                    now: datetime) -> int | None:
        """`lease`, returning its fencing token (None when not granted). The token grows
        every time the lease changes holder, so a holder that lost it cannot prove it holds
        it again (`hold`)."""
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        until = now + timedelta(seconds=ttl_seconds)

        def op(tx: Tx) -> int | None:
            row = tx.execute(
                "INSERT INTO leases (name, holder, expires_at, acquired_at, token)"
                " VALUES (?,?,?,?,1)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
                " expires_at = excluded.expires_at, acquired_at = CASE WHEN leases.holder ="
                " excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END,"
                " token = CASE WHEN leases.holder = excluded.holder THEN leases.token"
                " ELSE leases.token + 1 END"
                " WHERE leases.holder = excluded.holder OR leases.expires_at <= ?"
                " RETURNING token",
                (name, holder, self._d.to_db(until), self._d.to_db(now),
                 self._d.to_db(now))).one()
            return None if row is None else int(row[0])
        return await self._runner.run(op)

    async def hold(self, name: str, holder: str, token: int, ttl_seconds: float,
                   now: datetime) -> bool:
        """Prove that `holder` still holds `name` with `token`, before its lease ran out, and
        extend it (one compare-and-set). False: it lost the lease; it must not act."""
        until = now + timedelta(seconds=ttl_seconds)
        sql = ("UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND token = ?"
               " AND expires_at > ? RETURNING name")
        args = (self._d.to_db(until), name, holder, token, self._d.to_db(now))
        return await self._runner.run(lambda tx: tx.execute(sql, args).one() is not None)

    async def first_delivery(self, key: str, *, now: datetime, keep: timedelta) -> bool:
        """Record a Slack delivery; True if no replica recorded `key` in the last `keep`.
        Older records are forgotten on the way (one write transaction)."""

        def op(tx: Tx) -> bool:
            tx.execute("DELETE FROM deliveries WHERE seen_at < ?", (self._d.to_db(now - keep),))
            row = tx.execute(
                "INSERT INTO deliveries (key, seen_at) VALUES (?, ?)"
                " ON CONFLICT (key) DO NOTHING RETURNING key",
                (key, self._d.to_db(now))).one()
            return row is not None
        return await self._runner.run(op)

    async def release_lease(self, name: str, holder: str) -> bool:
        """Give the lease up early if `holder` has it; whether it did."""
        sql = "DELETE FROM leases WHERE name = ? AND holder = ? RETURNING name"
        return await self._runner.run(lambda tx: tx.execute(sql, (name, holder)).one()
                                      is not None)

    # ---- fleet history: SQL in bot/store/history.py --------------------------------------

    async def add_snapshots(self, snapshots: Sequence[Snapshot]) -> int:
        items = list(snapshots)
        return await self._runner.run(lambda tx: history.add_snapshots(tx, items))

    async def snapshots(self, host: str | None = None, since: datetime | None = None,
                        until: datetime | None = None) -> list[Snapshot]:
        return await self._runner.run(lambda tx: history.snapshots(tx, host, since, until),
                                      write=False)

    async def latest_snapshots(self, *, before: datetime | None = None) -> list[Snapshot]:
        return await self._runner.run(lambda tx: history.latest_snapshots(tx, before),
                                      write=False)

    async def prune_snapshots(self, before: datetime) -> int:
        return await self._runner.run(lambda tx: history.prune_snapshots(tx, before))

    async def open_alert(self, host: str, level: str, state: dict[str, Any], *,
                         now: datetime) -> AlertRecord | None:
        return await self._runner.run(lambda tx: history.open_alert(tx, host, level, state, now))

    async def update_alert(self, alert_id: int, level: str, state: dict[str, Any], *,
                           now: datetime) -> AlertRecord | None:
        return await self._runner.run(
            lambda tx: history.update_alert(tx, alert_id, level, state, now))

    async def resolve_alert(self, alert_id: int, state: dict[str, Any], *,
                            now: datetime) -> AlertRecord | None:
        return await self._runner.run(
            lambda tx: history.resolve_alert(tx, alert_id, state, now))

    async def set_alert_message(self, alert_id: int, channel: str, ts: str) -> None:
        await self._runner.run(lambda tx: history.set_alert_message(tx, alert_id, channel, ts))

    async def get_alert(self, alert_id: int) -> AlertRecord | None:
        return await self._runner.run(lambda tx: history.get_alert(tx, alert_id), write=False)

    async def active_alert(self, host: str) -> AlertRecord | None:
        found = await self._runner.run(lambda tx: history.active_alerts(tx, host), write=False)
        return found[0] if found else None

    async def active_alerts(self) -> list[AlertRecord]:
        return await self._runner.run(lambda tx: history.active_alerts(tx, None), write=False)

    async def alerts(self, since: datetime, until: datetime | None = None) -> list[AlertRecord]:
        return await self._runner.run(lambda tx: history.alerts(tx, since, until), write=False)

    async def claim_firing(self, job: str, fire_at: datetime, holder: str, *,
                           now: datetime) -> bool:
        return await self._runner.run(
            lambda tx: history.claim_firing(tx, job, fire_at, holder, now))

    async def finish_firing(self, job: str, fire_at: datetime, outcome: str, *,
                            now: datetime) -> None:
        await self._runner.run(lambda tx: history.finish_firing(tx, job, fire_at, outcome, now))

    async def last_firing(self, job: str) -> datetime | None:
        return await self._runner.run(lambda tx: history.last_firing(tx, job), write=False)

    async def close(self) -> None:
        await self._runner.close()

    def _audit(self, tx: Tx, request_id: int | None, host: str | None, actor: str, event: str,
               detail: dict[str, Any], now: datetime) -> AuditEntry:
        """Append one chained audit row (locks the chain head until commit: call it last)."""
        row = audit_chain.append(tx, request_id, host, iso(now), actor, event,
                                 dump_json(detail), self._d.to_db(now))
        return to_audit(row, self._d.from_db)


def _filters(*pairs: tuple[str, object]) -> tuple[str, list[object]]:
    """` WHERE a = ? AND b = ?` for the pairs whose value is not None (column names are ours)."""
    used = [(column, value) for column, value in pairs if value is not None]
    where = " AND ".join(f"{column} = ?" for column, _ in used)
    return (f" WHERE {where}" if where else ""), [value for _, value in used]


def _must(row: tuple[Any, ...] | None) -> tuple[Any, ...]:
    if row is None:  # INSERT ... RETURNING always returns the row
        raise RuntimeError("INSERT returned no row")
    return row
