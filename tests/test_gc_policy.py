"""bot.gc_policy: after start-up, full collections run only in quiet turns of the event loop
(never while a Slack request waits for its ack), and CPython no longer starts them itself."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest

from bot import gc_policy
from bot.ack_first import acking


@pytest.fixture
def gc_restored() -> Iterator[None]:
    """The policy changes this process's collector: put it back for the tests after."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_start_up_is_frozen_and_full_collections_are_left_to_the_bot(gc_restored: None) -> None:
    young, middle, _ = gc.get_threshold()
    gc_policy.freeze_startup()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (young, middle, gc_policy.NEVER)


async def test_full_collections_wait_while_a_request_waits_for_its_ack(gc_restored: None) -> None:
    gc_policy.freeze_startup()  # CPython starts no full collection of its own in this test
    loop = asyncio.get_running_loop()
    full: list[float] = []

    def note(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2:
            full.append(loop.time())

    gc.callbacks.append(note)
    collector = asyncio.create_task(gc_policy.collect_in_quiet_turns(every=0.01))
    try:
        with acking():  # a request waiting for its ack, for 0.2 s (MAX_WAIT is 0.5 s)
            await asyncio.sleep(0.2)
            answered = loop.time()
        assert full == [], "a full collection paused the loop while a request waited"
        await asyncio.sleep(0.2)
        assert full and min(full) >= answered, "none ran once the loop was quiet"
        assert len(full) >= 2, "one every `every` seconds, not once"
    finally:
        collector.cancel()
        gc.callbacks.remove(note)
