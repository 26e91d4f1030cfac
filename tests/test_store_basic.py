"""The store's contract, on SQLite and on a real PostgreSQL (fixtures in conftest.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest

from bot.store import FINAL, TRANSITIONS, NewRequest, State, Store, open_store
from bot.store.migrations import LATEST

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
PARAMS: dict[str, Any] = {"vm": "gpu-vm-07", "to": "esx02", "sizes": [1, 2.5], "hard": False,
                          "note": "naïve ✓"}
PATHS = {State.PROPOSED: [], State.APPROVED: [State.APPROVED],
         State.RUNNING: [State.APPROVED, State.RUNNING]}


def new_request(host: str = "esx01", expires_in: float = 1800, **kw: Any) -> NewRequest:
    return NewRequest(kind=kw.pop("kind", "migrate"), target=kw.pop("target", "gpu-vm-07"),
                      host=host, params=kw.pop("params", PARAMS), requested_by="U_ALICE",
                      expires_at=T0 + timedelta(seconds=expires_in), channel="C_OPS", **kw)


def raw_execute(url: str, sql: str) -> None:
    """Run SQL outside the store, as an intruder with the same credentials would."""
    if url.startswith("postgresql://"):
        with psycopg.connect(url) as conn:
            conn.execute(sql)
    else:
        with sqlite3.connect(url) as conn:
            conn.execute(sql)


async def test_create_get_round_trip(store: Store) -> None:
    # a +02:00 clock reading is stored as UTC and comes back tz-aware
    local = T0.astimezone(timezone(timedelta(hours=2)))
    created = await store.create(new_request(), now=local)
    got = await store.get(created.id)
    assert got == created
    assert got.params == PARAMS and got.state is State.PROPOSED and got.version == 1
    assert got.created_at == T0 and got.created_at.utcoffset() == timedelta(0)
    assert got.expires_at == T0 + timedelta(seconds=1800) and got.channel == "C_OPS"
    assert await store.get(created.id + 1000) is None
    [entry] = await store.audit_trail(request_id=created.id)
    assert (entry.event, entry.actor, entry.host, entry.at) == ("proposed", "U_ALICE", "esx01", T0)
    assert entry.detail["params"] == PARAMS
    with pytest.raises(ValueError, match="naive"):
        await store.create(new_request(), now=datetime(2025, 1, 1))


@pytest.mark.parametrize("start", list(State))
async def test_every_transition(store: Store, start: State) -> None:
    for new in State:
        if new not in TRANSITIONS.get(start, frozenset()):
            with pytest.raises(ValueError, match="not allowed"):
                await store.transition(1, start, new, actor="U_BOB", now=T0)
            continue
        req = await store.create(new_request(), now=T0)
        for step, prev in zip(PATHS[start], [State.PROPOSED, *PATHS[start]], strict=False):
            assert await store.transition(req.id, prev, step, actor="bot", now=T0)
        later = T0 + timedelta(minutes=1)
        moved = await store.transition(req.id, start, new, actor="U_BOB", now=later,
                                       detail={"why": "test"}, outcome=f"-> {new}")
        assert moved is not None and moved.state is new and moved.updated_at == later
        assert moved.version == len(PATHS[start]) + 2 and moved.outcome == f"-> {new}"
        assert await store.transition(req.id, start, new, actor="U_BOB", now=later) is None
        last = (await store.audit_trail(request_id=req.id))[-1]
        assert (last.event, last.actor, last.detail) == (new.value, "U_BOB", {"why": "test"})
    assert FINAL.isdisjoint(TRANSITIONS)


async def test_wrong_expected_state_is_refused(store: Store) -> None:
    req = await store.create(new_request(), now=T0)
    assert await store.transition(req.id, State.APPROVED, State.RUNNING, actor="x", now=T0) is None
    assert (await store.get(req.id)).state is State.PROPOSED  # type: ignore[union-attr]
    assert await store.transition(999, State.PROPOSED, State.APPROVED, actor="x", now=T0) is None


async def test_concurrent_approvals_one_wins(db_url: str, store: Store) -> None:
    req = await store.create(new_request(), now=T0)
    other = open_store(db_url)  # a second connection: real concurrency, not just the lock
    try:
        results = await asyncio.gather(*(
            (store if i % 2 else other).transition(
                req.id, State.PROPOSED, State.APPROVED, actor=f"U_{i}", now=T0,
                approved_by=f"U_{i}")
            for i in range(20)))
    finally:
        await other.close()
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    trail = await store.audit_trail(request_id=req.id)
    approved = [e for e in trail if e.event == "approved"]
    assert len(approved) == 1 and approved[0].actor == winners[0].approved_by
    assert (await store.get(req.id)).version == 2  # type: ignore[union-attr]


async def test_audit_is_append_only(db_url: str, store: Store) -> None:
    req = await store.create(new_request(), now=T0)
    await store.audit(req.id, "esx01", "bot", "output", {"stdout": "ok"}, now=T0)
    for sql in ("UPDATE audit SET actor = 'mallory'", "DELETE FROM audit"):
        with pytest.raises((sqlite3.DatabaseError, psycopg.Error), match="append-only"):
            raw_execute(db_url, sql)
    trail = await store.audit_trail(host="esx01")
    assert [(e.event, e.actor) for e in trail] == [("proposed", "U_ALICE"), ("output", "bot")]


async def test_migrations_idempotent_and_concurrent(db_url: str) -> None:
    stores = [open_store(db_url) for _ in range(3)]
    try:
        assert await asyncio.gather(*(s.migrate() for s in stores)) == [LATEST] * 3
        assert await stores[0].migrate() == LATEST
        req = await stores[1].create(new_request(), now=T0)
        assert await stores[2].get(req.id) == req
    finally:
        for s in stores:
            await s.close()


async def test_restart_loses_nothing(db_url: str) -> None:
    first = open_store(db_url)
    await first.migrate()
    a = await first.create(new_request(), now=T0)
    b = await first.create(new_request(host="esx02", kind="reboot", target="esx02"), now=T0)
    await first.set_message(a.id, "C_OPS", "1700000000.000100")
    await first.transition(b.id, State.PROPOSED, State.APPROVED, actor="U_BOB", now=T0,
                           approved_by="U_BOB")
    before = (await first.requests(), await first.audit_trail())
    await first.close()
    again = open_store(db_url)  # the bot restarted
    try:
        assert await again.migrate() == LATEST
        assert (await again.requests(), await again.audit_trail()) == before
        assert (await again.get(a.id)).message_ts == "1700000000.000100"  # type: ignore[union-attr]
        assert await again.transition(a.id, State.PROPOSED, State.APPROVED, actor="U_BOB",
                                      now=T0) is not None
    finally:
        await again.close()


async def test_requests_filters(store: Store) -> None:
    a = await store.create(new_request(), now=T0)
    b = await store.create(new_request(host="esx02"), now=T0)
    c = await store.create(new_request(), now=T0)
    await store.transition(c.id, State.PROPOSED, State.CANCELLED, actor="U_ALICE", now=T0)
    assert [r.id for r in await store.requests()] == [a.id, b.id, c.id]
    assert [r.id for r in await store.requests(host="esx01")] == [a.id, c.id]
    pending = await store.requests(host="esx01", states=frozenset({State.PROPOSED}))
    assert [r.id for r in pending] == [a.id]
    assert [r.id for r in await store.requests(limit=2)] == [b.id, c.id]
    assert await store.requests(states=frozenset()) == []
    assert len(await store.audit_trail(host="esx01", limit=1)) == 1


async def test_expire_due(store: Store) -> None:
    due = await store.create(new_request(expires_in=60), now=T0)
    fresh = await store.create(new_request(expires_in=3600), now=T0)
    approved = await store.create(new_request(expires_in=60), now=T0)
    await store.transition(approved.id, State.PROPOSED, State.APPROVED, actor="U_BOB", now=T0)
    at = T0 + timedelta(seconds=60)  # expiry is inclusive
    moved = await store.expire_due(now=at)
    assert [(r.id, r.state) for r in moved] == [(due.id, State.EXPIRED)]
    assert await store.expire_due(now=at) == []
    assert (await store.get(fresh.id)).state is State.PROPOSED  # type: ignore[union-attr]
    last = (await store.audit_trail(request_id=due.id))[-1]
    assert (last.event, last.at) == ("expired", at)
    assert await store.transition(due.id, State.PROPOSED, State.APPROVED, actor="U_BOB",
                                  now=at) is None


async def test_lease_takeover_after_ttl(store: Store) -> None:
    assert await store.lease("scan", "replica-a", 30, T0)
    assert not await store.lease("scan", "replica-b", 30, T0 + timedelta(seconds=29))
    assert await store.lease("scan", "replica-a", 30, T0 + timedelta(seconds=20))  # renew
    assert not await store.lease("scan", "replica-b", 30, T0 + timedelta(seconds=49))
    assert await store.lease("scan", "replica-b", 30, T0 + timedelta(seconds=50))  # expired
    assert not await store.lease("scan", "replica-a", 30, T0 + timedelta(seconds=51))
    assert await store.lease("digest", "replica-a", 30, T0)  # leases are independent
    assert not await store.release_lease("scan", "replica-a")
    assert await store.release_lease("scan", "replica-b")
    assert await store.lease("scan", "replica-a", 30, T0 + timedelta(seconds=52))
    with pytest.raises(ValueError):
        await store.lease("scan", "replica-a", 0, T0)


async def test_a_delivery_is_first_once_across_stores(db_url: str) -> None:
    """Two replicas' stores on one database: one of them sees a Slack delivery first."""
    stores = [open_store(db_url) for _ in range(2)]
    try:
        await stores[0].migrate()
        keep = timedelta(minutes=15)
        firsts = await asyncio.gather(*(s.first_delivery("event:Ev1", now=T0, keep=keep)
                                        for s in stores for _ in range(3)))
        assert sorted(firsts) == [False] * 5 + [True]
        assert await stores[1].first_delivery("event:Ev2", now=T0, keep=keep)
        later = T0 + keep + timedelta(seconds=1)  # forgotten after `keep`
        assert await stores[0].first_delivery("event:Ev1", now=later, keep=keep)
        assert not await stores[1].first_delivery("event:Ev1", now=later, keep=keep)
    finally:
        for s in stores:
            await s.close()
