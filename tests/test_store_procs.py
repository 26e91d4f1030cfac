"""Two OS processes sharing one store (SQLite file or PostgreSQL): approvals and leases are
won by exactly one of them, and concurrent migrations are harmless."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.store import NewRequest, State, Store, open_store
from bot.store.migrations import LATEST

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ROUNDS = 50
SPAWN = mp.get_context("spawn")


def _child(url: str, me: str, op: str, keys: list[int], barrier: Any, out: Any) -> None:
    out.put((me, asyncio.run(_race(url, me, op, keys, barrier))))


async def _race(url: str, me: str, op: str, keys: list[int], barrier: Any) -> list[Any]:
    store = open_store(url)
    won: list[Any] = []
    try:
        if op == "migrate":
            await asyncio.to_thread(barrier.wait, 30)
            return [await store.migrate()]
        await store.get(1)  # connect before the first barrier
        for key in keys:
            await asyncio.to_thread(barrier.wait, 30)
            if op == "approve" and await store.transition(
                    key, State.PROPOSED, State.APPROVED, actor=me, approved_by=me, now=T0):
                won.append(key)
            if op == "lease" and await store.lease(f"job-{key}", me, 60, T0):
                won.append(key)
    finally:
        await store.close()
    return won


def _race_in_two_processes(url: str, op: str, keys: list[int]) -> dict[str, list[Any]]:
    barrier, out = SPAWN.Barrier(2), SPAWN.Queue()
    procs = [SPAWN.Process(target=_child, args=(url, me, op, keys, barrier, out))
             for me in ("proc-a", "proc-b")]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return results


async def _proposed(store: Store, n: int) -> list[int]:
    expires = T0 + timedelta(hours=1)
    return [(await store.create(NewRequest("reboot", f"esx{i:02}", f"esx{i:02}", {"i": i},
                                           "U_ALICE", expires), now=T0)).id for i in range(n)]


async def test_two_processes_approve_once(db_url: str, store: Store) -> None:
    ids = await _proposed(store, ROUNDS)
    wins = _race_in_two_processes(db_url, "approve", ids)
    assert sorted(wins["proc-a"] + wins["proc-b"]) == ids  # every round: exactly one winner
    for rid in ids:
        trail = await store.audit_trail(request_id=rid)
        approved = [e.actor for e in trail if e.event == "approved"]
        winner = "proc-a" if rid in wins["proc-a"] else "proc-b"
        assert approved == [winner]
        assert (await store.get(rid)).approved_by == winner  # type: ignore[union-attr]


async def test_two_processes_lease_exclusive(db_url: str, store: Store) -> None:
    keys = list(range(ROUNDS))
    wins = _race_in_two_processes(db_url, "lease", keys)
    assert sorted(wins["proc-a"] + wins["proc-b"]) == keys
    loser = {k: "proc-b" if k in wins["proc-a"] else "proc-a" for k in keys}
    assert not await store.lease("job-0", loser[0], 60, T0 + timedelta(seconds=59))
    assert await store.lease("job-0", loser[0], 60, T0 + timedelta(seconds=60))


async def test_two_processes_migrate_fresh_database(db_url: str) -> None:
    results = _race_in_two_processes(db_url, "migrate", [0])
    assert results == {"proc-a": [LATEST], "proc-b": [LATEST]}
    store = open_store(db_url)
    try:
        assert await store.migrate() == LATEST
        assert await _proposed(store, 1) == [1]
    finally:
        await store.close()
