"""The soak: 200 commands on the demo fleet with random faults (hosts down, hanging, answering
garbage or cut short, SSH restarts, vMotion failing, vCenter slow, Slack failing or hanging
during a run), approvals pressed twice at once, and runs paused past their lease and taken
over by another replica. No command is lost, none crashes, none runs twice, every failure
is one line, a run taken over does nothing more, and no thread, file descriptor or SSH
connection outlives the run. bench/soak.py runs 1,000."""

from __future__ import annotations

import sys
import threading
import time
import traceback
from datetime import UTC, datetime, timedelta

import pytest

from bot.esx import send_guard
from bot.inventory import HostEntry
from bot.remediation.fence import Fence, FencedTransport, LeaseLost
from bot.store import Store
from tests.fault_helpers import FAULTS, PAUSE, run_soak


async def test_200_commands_with_random_faults_leak_nothing() -> None:
    report = await run_soak(200, seed=6)
    assert report.commands == 200
    assert report.crashes == [] and report.long_messages == []
    assert report.lost == 0 and report.double_executions == 0
    # each paused run: what it sent and wrote, and when, against the pause and the takeover
    assert report.takeovers >= 1 and report.after_takeover == 0, "\n".join(
        [f"takeovers {report.takeovers}, after them {report.after_takeover}:", *report.pauses])
    assert set(report.faults) == {*FAULTS, PAUSE}, report.faults  # every kind was injected
    assert sum(v for k, v in report.faults.items() if k != "none") >= 50
    assert report.outcomes.get("answered", 0) >= 50, report.outcomes
    assert report.outcomes.get("approved", 0) >= 1, report.outcomes
    assert report.peak_connections <= 8  # one cached connection per host at most
    assert report.before is not None and report.after is not None
    new = sorted(set(report.after.threads) - set(report.before.threads))
    assert report.leaked() == {"threads": 0, "fds": 0, "connections": 0}, (
        new, report.after, where_they_are(new))


async def test_a_proof_answered_before_a_pause_proves_nothing_after_it(store: Store) -> None:
    """The soak's one late command (seed 6; about one paused run in six under CPU load): the
    run asked the store to prove its lease, the store said yes at once (in its worker
    thread), then the whole process froze past the lease and a takeover before the run
    resumed; it resumed with that yes, dated the proof then, and sent one command to the
    host. A proof counts from when it began."""
    ttl = 0.4
    now = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    paused = Fence(store, "replica-a#r1", ttl, lambda: now[0])
    assert await paused.take("request:1")

    class FreezesAfterTheAnswer:
        """The store, answering; then this process freezes before the run resumes."""

        def __getattr__(self, name: str) -> object:
            return getattr(store, name)

        async def hold(self, *args: object) -> bool:
            held = await store.hold(*args)  # type: ignore[arg-type]
            time.sleep(ttl)  # the event loop blocked (SIGSTOP, a long GC pause)
            now[0] += timedelta(seconds=ttl * 1.5)  # meanwhile, another replica took over
            assert await Fence(store, "replica-b", ttl, lambda: now[0]).take("request:1")
            return held

    paused.store = FreezesAfterTheAnswer()  # type: ignore[assignment]
    sent: list[str] = []

    class Wire:
        async def run(self, host: HostEntry, command: str, **kw: object) -> None:
            guard = send_guard.current()  # as the SSH worker does, right before the send
            assert guard is not None
            guard()
            sent.append(command)

        async def close(self) -> None:
            return None

    fenced = FencedTransport(Wire(), paused)  # type: ignore[arg-type]
    with pytest.raises(LeaseLost):
        await fenced.run(HostEntry(name="host01", address="127.0.0.1"), "esxcli vm process list")
    assert sent == []


def where_they_are(names: list[str]) -> dict[str, str]:
    """The innermost frames of the named threads: where a leaked thread waits."""
    frames = sys._current_frames()
    found = {}
    for thread in threading.enumerate():
        if thread.name in names and thread.ident in frames:
            stack = traceback.extract_stack(frames[thread.ident])[-6:]
            found[thread.name] = f"{type(thread).__name__}: " + " <- ".join(
                f"{f.name}@{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(stack))
    return found
