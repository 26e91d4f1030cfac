"""bot.ack_first: deferrable work waits while Slack requests wait for their ack, and goes in one
piece per event-loop iteration."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import uvloop

from bot import ack_first
from bot.ack_first import acking, acks_pending, my_turn


class Iterations:
    """Counts event-loop iterations (a callback that re-schedules itself each time)."""

    def __init__(self) -> None:
        self.count = 0
        self._handle: asyncio.Handle | None = None

    def start(self) -> None:
        self._handle = asyncio.get_running_loop().call_soon(self._tick)

    def _tick(self) -> None:
        self.count += 1
        self._handle = asyncio.get_running_loop().call_soon(self._tick)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()


async def test_without_requests_a_turn_is_given_at_once() -> None:
    await asyncio.wait_for(my_turn(), 0.1)
    assert acks_pending() == 0


async def test_turns_wait_while_a_request_waits_for_its_ack() -> None:
    done: list[str] = []

    async def work() -> None:
        await my_turn()
        done.append("work")

    with acking():
        assert acks_pending() == 1
        task = asyncio.create_task(work())
        await asyncio.sleep(0.1)
        assert done == [], "work ran while a request waited for its ack"
    assert acks_pending() == 0
    await asyncio.wait_for(task, 1.0)
    assert done == ["work"]


async def test_turns_wait_for_quiet_after_the_last_request() -> None:
    loop = asyncio.get_running_loop()
    with acking():
        pass
    ended = loop.time()
    await my_turn()
    assert loop.time() - ended >= ack_first.QUIET * 0.9, "the rest of a burst may be coming"


LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.mark.parametrize("loop_name", sorted(LOOPS))
def test_a_look_due_within_a_millisecond(loop_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """uvloop runs a callback due in under a millisecond as a plain Handle, which has no
    `when()`: the turns keep their own note of when they look again (a scan under
    `AIO_BOT_EVENT_LOOP=uvloop aio-bot serve` once died on it)."""
    monkeypatch.setattr(ack_first, "QUIET", 0.0002)

    async def two_turns_after_a_request() -> None:
        with acking():
            pass
        first = asyncio.ensure_future(my_turn())
        second = asyncio.ensure_future(my_turn())
        await asyncio.wait_for(asyncio.gather(first, second), 1.0)

    with asyncio.Runner(loop_factory=LOOPS[loop_name]) as runner:
        runner.run(two_turns_after_a_request())


async def test_a_turn_waits_at_most_max_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ack_first, "MAX_WAIT", 0.1)
    loop = asyncio.get_running_loop()
    with acking():  # a request that is never answered: work must still go on
        started = loop.time()
        await asyncio.wait_for(my_turn(), 1.0)
        waited = loop.time() - started
    assert 0.09 <= waited < 0.5


async def test_one_turn_per_loop_iteration() -> None:
    iterations = Iterations()
    seen: list[int] = []

    async def work() -> None:
        await my_turn()
        seen.append(iterations.count)

    iterations.start()
    try:
        await asyncio.gather(*(work() for _ in range(5)))
    finally:
        iterations.stop()
    assert len(seen) == 5
    assert len(set(seen)) == 5, f"two turns in one loop iteration: {seen}"


async def test_a_cancelled_waiter_does_not_hold_up_the_others() -> None:
    order: list[int] = []

    async def work(n: int) -> None:
        await my_turn()
        order.append(n)

    with acking():
        first = asyncio.create_task(work(1))
        second = asyncio.create_task(work(2))
        await asyncio.sleep(0.01)
        first.cancel()
    await asyncio.wait_for(second, 1.0)
    assert order == [2]
    assert first.cancelled()


async def test_requests_that_keep_coming_hold_turns_until_they_stop() -> None:
    done = asyncio.Event()

    async def work() -> None:
        await my_turn()
        done.set()

    task = asyncio.create_task(work())
    with acking():
        await asyncio.sleep(0)
    for _ in range(5):  # a request every 5 ms: never QUIET seconds without one
        await asyncio.sleep(0.005)
        with acking():
            await asyncio.sleep(0)
        assert not done.is_set()
    await asyncio.wait_for(task, 1.0)
    assert done.is_set()
