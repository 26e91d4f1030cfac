"""When Python's cyclic garbage collector may pause the event loop.

A full collection walks every tracked object the process holds: 50-90 ms in `aio-bot serve`
once a scan of 1,000 hosts has built its reports (bench/load.py, 2 cores). CPython starts one
whenever enough objects have outlived two younger collections, which is whenever the bot is
busiest, and a full collection in the middle of a burst of slash commands delays every one of
their acks by its whole length.

So, once start-up is done (`freeze_startup`): what start-up built (modules, the app, the
inventory) is frozen out of the collector's reach; the young generations are still collected
as CPython decides (a few milliseconds each); and full collections run only from
`collect_in_quiet_turns`, every FULL_EVERY seconds, in a turn of bot.ack_first (no request
waiting for its ack, none in the last moment; or, under a stream of requests that never
pauses, after the turn's longest wait, MAX_WAIT), never by CPython's own count. Garbage without
cycles is freed at once by reference counting either way; only cyclic garbage older than two
collections waits, at most FULL_EVERY seconds."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bot.ack_first import my_turn

FULL_EVERY = 30.0  # seconds between two full collections
NEVER = 2**31 - 1  # a threshold CPython's own count never reaches
log = logging.getLogger(__name__)


def freeze_startup() -> None:
    """Collect once, freeze what is left (start-up's objects), and leave full collections to
    `collect_in_quiet_turns`."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, NEVER)


async def collect_in_quiet_turns(every: float = FULL_EVERY) -> None:
    """Run a full collection every `every` seconds, each in a quiet turn; until cancelled."""
    while True:
        await asyncio.sleep(every)
        await my_turn()
        started = time.perf_counter()
        found = gc.collect()
        log.debug("full collection: %d unreachable object(s), %.1f ms", found,
                  (time.perf_counter() - started) * 1000)


@contextmanager
def after_startup() -> Iterator[None]:
    """`freeze_startup`, then `collect_in_quiet_turns` in the background until the block ends
    (call it in the event loop, once start-up is done)."""
    freeze_startup()
    collector = asyncio.get_running_loop().create_task(collect_in_quiet_turns())
    try:
        yield
    finally:
        collector.cancel()
