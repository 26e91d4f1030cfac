"""The work items of a fleet scan shared by replicas (bot.scanshare): one row per host.

A replica takes items with `SELECT ... FOR UPDATE SKIP LOCKED` (PostgreSQL), so two replicas
never take the same pending item; a taken item carries its holder and a lease that the holder
renews while it reads; an item whose lease ran out (its replica died) is pending again for
anyone. Finishing is a compare-and-set on the holder, so a replica that lost its item cannot
overwrite the result of the one that took it over."""
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.store.conn import Dialect, Runner, Tx

ItemKey = tuple[str, str]  # (scan_id, host)


class ScanItems:
    """Mixed into `SqlStore` (which sets `_d` and `_runner`)."""

    _d: Dialect
    _runner: Runner

    @property
    def shares_scans(self) -> bool:
        """Several replicas may share this store: scans are split into work items."""
        return self._d.backend == "postgres"

    async def add_scan_items(self, scan_id: str, hosts: Sequence[str], *, scan_at: datetime,
                             now: datetime) -> None:
        rows = [(scan_id, h, i, self._d.to_db(scan_at), "pending", self._d.to_db(now))
                for i, h in enumerate(hosts)]

        def op(tx: Tx) -> None:
            for row in rows:
                tx.execute("INSERT INTO scan_items (scan_id, host, position, scan_at, state,"
                           " created_at) VALUES (?,?,?,?,?,?)", row)
        await self._runner.run(op)

    async def claim_scan_items(self, holder: str, *, now: datetime, lease_until: datetime,
                               limit: int) -> list[tuple[str, str, datetime]]:
        """Up to `limit` items nobody holds (pending, or their lease ran out), oldest scan
        first, now held by `holder`: (scan_id, host, the scan's time)."""
        lock = " FOR UPDATE SKIP LOCKED" if self._d.backend == "postgres" else ""
        sql = ("UPDATE scan_items SET state = 'taken', holder = ?, lease_until = ?"
               " WHERE (scan_id, host) IN (SELECT scan_id, host FROM scan_items"
               " WHERE state = 'pending' OR (state = 'taken' AND lease_until < ?)"
               f" ORDER BY created_at, position LIMIT ?{lock})"
               " RETURNING scan_id, host, scan_at")
        params = (holder, self._d.to_db(lease_until), self._d.to_db(now), limit)

        def op(tx: Tx) -> list[tuple[Any, ...]]:
            return tx.execute(sql, params).all()
        rows = await self._runner.run(op)
        return [(str(r[0]), str(r[1]), self._d.from_db(r[2])) for r in rows]

    async def renew_scan_items(self, holder: str, keys: Sequence[ItemKey], *,
                               lease_until: datetime) -> None:
        def op(tx: Tx) -> None:
            for scan_id, host in keys:
                tx.execute("UPDATE scan_items SET lease_until = ? WHERE scan_id = ? AND"
                           " host = ? AND state = 'taken' AND holder = ?",
                           (self._d.to_db(lease_until), scan_id, host, holder))
        if keys:
            await self._runner.run(op)

    async def finish_scan_item(self, holder: str, key: ItemKey, result: str) -> bool:
        """Store the result if `holder` still holds the item; False when it was lost."""
        def op(tx: Tx) -> tuple[Any, ...] | None:
            return tx.execute("UPDATE scan_items SET state = 'done', result = ?,"
                              " lease_until = NULL WHERE scan_id = ? AND host = ? AND"
                              " state = 'taken' AND holder = ? RETURNING host",
                              (result, key[0], key[1], holder)).one()
        return await self._runner.run(op) is not None

    async def release_scan_items(self, holder: str, keys: Sequence[ItemKey]) -> None:
        """Give items back unread (a replica shutting down)."""
        def op(tx: Tx) -> None:
            for scan_id, host in keys:
                tx.execute("UPDATE scan_items SET state = 'pending', holder = NULL,"
                           " lease_until = NULL WHERE scan_id = ? AND host = ? AND"
                           " state = 'taken' AND holder = ?", (scan_id, host, holder))
        if keys:
            await self._runner.run(op)

    async def done_positions(self, scan_id: str) -> set[int]:
        rows = await self._runner.run(lambda tx: tx.execute(
            "SELECT position FROM scan_items WHERE scan_id = ? AND state = 'done'",
            (scan_id,)).all(), write=False)
        return {int(r[0]) for r in rows}

    async def scan_results(self, scan_id: str, positions: Sequence[int]
                           ) -> list[tuple[int, str, str, str]]:
        """Items done among `positions`: (position, host, holder, result)."""
        if not positions:
            return []
        marks = ",".join("?" * len(positions))

        def op(tx: Tx) -> list[tuple[Any, ...]]:
            return tx.execute("SELECT position, host, holder, result FROM scan_items"
                              f" WHERE scan_id = ? AND state = 'done' AND position IN ({marks})"
                              " ORDER BY position", (scan_id, *positions)).all()
        rows = await self._runner.run(op, write=False)
        return [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]

    async def held_items(self, holder: str) -> list[str]:
        """Hosts whose items `holder` holds now (any scan)."""
        rows = await self._runner.run(lambda tx: tx.execute(
            "SELECT host FROM scan_items WHERE state = 'taken' AND holder = ?",
            (holder,)).all(), write=False)
        return [str(r[0]) for r in rows]

    async def drop_scan(self, scan_id: str) -> None:
        def op(tx: Tx) -> None:
            tx.execute("DELETE FROM scan_items WHERE scan_id = ?", (scan_id,))
        await self._runner.run(op)
