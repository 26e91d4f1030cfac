"""Acks first: work that can wait a few milliseconds lets the event loop ack Slack before it.

Slack wants every request acknowledged within 3 s, and a burst of 100 slash commands is 100
acks the one event loop must write, about half a millisecond of Python each. The commands they
start finish in the same loop: parsing a host's read (about 1.4 ms), building a Block Kit
message (about 2 ms). Run in arrival order, the first commands' replies are built while later
requests of the same burst still wait for their ack (bench/load.py: ack p99 150-300 ms); and
when 50 hosts' reads come back at once, their 50 parses ran back to back before the loop
looked for new requests again.

So a front end marks each request from its arrival to its ack (`acking`), and deferrable work
first asks for its turn (`my_turn`). While any request waits for its ack, and for QUIET
seconds after the last one (the rest of a burst is on its way), turns wait. Turns
are given one per event-loop iteration, so between two of them the loop polls its sockets
and a request that arrived meanwhile is read (and acked) first. A turn never waits longer
than `MAX_WAIT` (a steady stream of requests cannot starve replies). Where nothing marks
requests (the CLI, the console) turns still come one per iteration, which costs a command
a loop iteration per piece.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

MAX_WAIT = 0.5  # seconds a turn waits at most
QUIET = 0.02  # seconds without a request before turns are given (a burst is one wait)


class _Turns:
    """The account of one event loop: requests waiting for their ack, when the last one came
    or went, and the work waiting for a turn (oldest first, with the loop time it began to
    wait)."""

    def __init__(self) -> None:
        self.acking = 0
        self.last_request = float("-inf")
        self.waiting: deque[tuple[float, asyncio.Future[None]]] = deque()
        self.letting_in = False  # a turn was given in this loop iteration
        self.timer: asyncio.Handle | None = None  # uvloop gives a plain Handle for "now"
        self.timer_when = 0.0  # loop time the timer was set for

    def begin(self) -> None:
        self.acking += 1
        self.last_request = asyncio.get_running_loop().time()

    def end(self) -> None:
        self.acking = max(0, self.acking - 1)
        loop = asyncio.get_running_loop()
        self.last_request = loop.time()
        self._let_next_in(loop)

    async def turn(self) -> None:
        loop = asyncio.get_running_loop()
        if not self.waiting and not self.letting_in and self._hold(loop, loop.time()) <= 0:
            self._granted(loop)
            return
        future: asyncio.Future[None] = loop.create_future()
        self.waiting.append((loop.time(), future))
        self._let_next_in(loop)
        try:
            await future
        finally:
            if not future.done():
                future.cancel()  # skipped when its turn comes

    def _hold(self, loop: asyncio.AbstractEventLoop, since: float) -> float:
        """Seconds that work waiting since `since` must still wait (0 or less: none)."""
        now = loop.time()
        overdue = since + MAX_WAIT - now
        if self.acking:
            return overdue
        return min(overdue, self.last_request + QUIET - now)

    def _let_next_in(self, loop: asyncio.AbstractEventLoop) -> None:
        """Give the oldest waiter its turn unless a request waits for its ack or one came in
        the last QUIET seconds (and the waiter has not waited MAX_WAIT), and unless a turn was
        given in this loop iteration; else look again when that changes."""
        if self.letting_in:
            return
        while self.waiting and self.waiting[0][1].done():
            self.waiting.popleft()
        if not self.waiting:
            return
        hold = self._hold(loop, self.waiting[0][0])
        if hold > 0:
            self._look_again(loop, hold)
            return
        _, future = self.waiting.popleft()
        future.set_result(None)
        self._granted(loop)

    def _look_again(self, loop: asyncio.AbstractEventLoop, delay: float) -> None:
        when = loop.time() + delay
        if self.timer is not None and not self.timer.cancelled() and self.timer_when <= when:
            return  # a look comes sooner anyway
        if self.timer is not None:
            self.timer.cancel()
        self.timer, self.timer_when = loop.call_at(when, self._timer_fired, loop), when

    def _timer_fired(self, loop: asyncio.AbstractEventLoop) -> None:
        self.timer = None
        self._let_next_in(loop)

    def _granted(self, loop: asyncio.AbstractEventLoop) -> None:
        """One turn per loop iteration: the next is given on the next iteration, after the
        loop has polled its sockets."""
        self.letting_in = True
        loop.call_soon(self._next, loop)

    def _next(self, loop: asyncio.AbstractEventLoop) -> None:
        self.letting_in = False
        self._let_next_in(loop)


# one account per event loop (a test suite runs many loops in one process)
_TURNS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Turns] = (
    weakref.WeakKeyDictionary())


def _turns() -> _Turns:
    loop = asyncio.get_running_loop()
    turns = _TURNS.get(loop)
    if turns is None:
        turns = _TURNS[loop] = _Turns()
    return turns


@contextmanager
def acking() -> Iterator[None]:
    """A request from its arrival to its ack (the front end wraps its handling; call it in
    the event loop)."""
    turns = _turns()
    turns.begin()
    try:
        yield
    finally:
        turns.end()


async def my_turn() -> None:
    """Wait, briefly, until no request waits for its ack (see the module's text)."""
    await _turns().turn()


def acks_pending() -> int:
    """Requests of this event loop waiting for their ack."""
    return _turns().acking
