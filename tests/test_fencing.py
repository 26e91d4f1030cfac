"""Fenced remediation, tried the way a bad day would: a replica paused (SIGSTOP) past its
lease while it runs a plan, on SQLite and on a real PostgreSQL; a paused holder in one
process; two changes that touch the same host approved at once."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.demo import DemoFleet
from bot.remediation.fence import Fence, FencedTransport, LeaseLost
from bot.sim.fleet_process import write_manifest
from bot.slack.views.plan import APPROVE
from bot.store import State, Store, open_store
from commands.catalog import build_registry
from commands.results import OutcomeResult, PlanResult
from tests import fakeslack
from tests.fakeslack import FakeSlack
from tests.test_two_replicas import replica, shared_env

fake_slack = fakeslack.fake_slack
LEASE = 3.0  # seconds: short, so that a pause outlives it quickly


def received(demo: DemoFleet) -> int:
    """Command lines the simulated hosts received so far, all hosts together."""
    return sum(len(server.received) for server in demo.fleet.servers.values())


async def wait_for_state(url: str, state: State, timeout: float = 60.0) -> None:
    store = open_store(url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            requests = await store.requests(limit=10)
            if requests and requests[0].state is state:
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"no request became {state} in {timeout:.0f} s")
    finally:
        await store.close()


# PostgreSQL only: SQLite serialises writers with one file lock, so a replica frozen inside a
# write transaction (1 run in 3 here) freezes every other replica's writes and no takeover can
# happen at all. Nothing runs twice then, but the other replica cannot end the request either:
# replicas need PostgreSQL (README, Deploy). The fence itself is tested on both stores below.
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_a_replica_paused_past_its_lease_acts_no_more(
    fake_slack: FakeSlack, db_url: str, tmp_path: Path,
) -> None:
    async with DemoFleet() as demo, AsyncExitStack() as stack:
        manifest = tmp_path / "fleet.json"
        write_manifest(demo, manifest)
        env = shared_env(fake_slack, manifest, db_url, AIO_BOT_LEASE_SECONDS=str(LEASE),
                         AIO_BOT_SWEEP_SECONDS="0.5")
        one, _two = await asyncio.gather(stack.enter_async_context(replica(fake_slack, env)),
                                         stack.enter_async_context(replica(fake_slack, env)))
        await one.slash("/aio", "fix host03")  # evacuate it, then reboot: many steps
        plan = await fake_slack.wait_for_message(
            lambda m: "only approvers can approve" in str(m.get("blocks")), timeout=30)
        await one.click(plan, APPROVE, user_id="U0ALICE")
        await fake_slack.wait_for_message(
            lambda m: m.get("thread_ts") == plan["ts"] and "Step 1 done" in m["text"],
            timeout=60)
        pid = one.proc.pid  # type: ignore[attr-defined]
        os.kill(pid, signal.SIGSTOP)
        try:
            await wait_for_state(db_url, State.INTERRUPTED)  # replica two took it over
            after_takeover = received(demo)
            trail_before = await _events(db_url)
        finally:
            os.kill(pid, signal.SIGCONT)
        await asyncio.sleep(3 * LEASE)  # the old runner wakes up and tries to go on
        assert received(demo) == after_takeover  # not one command reached a host
        assert await _events(db_url) == trail_before  # nor one more audit row
        assert trail_before[-1] == "interrupted"
        store = open_store(db_url)
        try:
            [request] = await store.requests(limit=10)
        finally:
            await store.close()
        assert request.state is State.INTERRUPTED and "must check" in (request.outcome or "")
    assert "no longer holds it" in one.proc.stderr_text  # type: ignore[attr-defined]


async def _events(url: str) -> list[str]:
    store = open_store(url)
    try:
        [request] = await store.requests(limit=10)
        return [e.event for e in await store.audit_trail(request_id=request.id, limit=1000)]
    finally:
        await store.close()


async def test_a_fence_lost_in_one_process_stops_every_command(store: Store) -> None:
    """The fence itself: a holder whose lease ran out and was taken over cannot prove it
    holds it again, and its fenced transport sends nothing."""
    now = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    paused = Fence(store, "replica-a#r1", 5.0, lambda: now[0])
    assert await paused.take("request:1") and await paused.take("host:host03")
    other = Fence(store, "replica-b", 5.0, lambda: now[0])
    assert not await other.take("request:1")  # held and not expired
    now[0] += timedelta(seconds=6)  # the holder was paused past its lease
    assert await other.take("request:1")  # a takeover: the token moved on
    assert other.tokens["request:1"] == paused.tokens["request:1"] + 1
    sent: list[str] = []

    class Recording:
        async def run(self, host: object, command: str, **kw: object) -> object:
            sent.append(command)
            return None

        async def close(self) -> None:
            return None

    fenced = FencedTransport(Recording(), paused)  # type: ignore[arg-type]
    with pytest.raises(LeaseLost):
        await fenced.run(object(), "esxcli system shutdown reboot -r x")  # type: ignore[arg-type]
    with pytest.raises(LeaseLost):  # lost stays lost, even if the store would now agree
        await paused.check()
    assert sent == []
    await paused.release()  # releases nothing of the new holder's
    assert await other.take("request:1") and not await paused.take("request:1")


async def test_two_changes_on_one_host_run_one_at_a_time() -> None:
    """Two requests that both touch host04 (a migration to it; its own reboot) approved
    together: one runs, the other is refused with the reason and stays proposed."""
    registry = build_registry()
    async with DemoFleet() as demo:
        asker = demo.context(caller="@you")
        moving = await registry.run("migrate vdi-eng-016 to host04", asker)
        rebooting = await registry.run("reboot host04", asker)
        assert isinstance(moving, PlanResult) and isinstance(rebooting, PlanResult)
        results = await asyncio.gather(
            registry.run(f"approve {moving.request.id}", demo.context(caller="@alice")),
            registry.run(f"approve {rebooting.request.id} confirm",
                         demo.context(caller="@bob")),
            return_exceptions=True)
        ran = [r for r in results if isinstance(r, OutcomeResult)]
        refused = [str(r) for r in results if isinstance(r, Exception)]
        assert len(ran) == 1 and len(refused) == 1, results
        assert "Another change is running on host04" in refused[0]
        assert demo.store is not None
        states = {r.id: r.state for r in await demo.store.requests(limit=10)}
        assert sorted(states.values()) == sorted([ran[0].outcome.request.state,
                                                  State.PROPOSED])
