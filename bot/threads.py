"""Worker-thread pools whose threads are all running before the first job arrives.

ThreadPoolExecutor starts a thread per `submit` until it has `max_workers` of them, and
`Thread.start()` waits until the new thread runs. Under GIL contention (paramiko threads busy
with a fleet scan) that wait takes milliseconds, and when the submit comes from the event
loop, the loop waits with it: in bench/load.py (1,008 hosts, 100 slash commands at once
during a scan) the first burst's acks took 115-180 ms instead of 40 ms, the loop stuck in
`Thread.start` for each new SSH worker. Starting every thread up front moves that cost to a
moment when nothing else runs.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import suppress

START_TIMEOUT = 10.0


def started_pool(workers: int, name: str) -> ThreadPoolExecutor:
    """A pool of `workers` threads, all started (each runs one job that waits for the others,
    so no thread can take two). Blocks until they run: call it off the event loop, or at
    start-up."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    everyone = threading.Barrier(workers)
    wait([pool.submit(_meet, everyone) for _ in range(workers)], timeout=START_TIMEOUT)
    return pool


def default_workers() -> int:
    """What asyncio's default executor would have (Python 3.8+): min(32, CPUs + 4)."""
    return min(32, (os.cpu_count() or 1) + 4)


def _meet(everyone: threading.Barrier) -> None:
    with suppress(threading.BrokenBarrierError):  # one was slow to start: the pool still works
        everyone.wait(START_TIMEOUT)
