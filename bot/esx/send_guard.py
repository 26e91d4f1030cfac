"""The last check before a command line leaves for a host, run in the SSH worker thread
right before `exec_command`. A fenced remediation run (`bot.remediation.fence`) sets one: a
process paused between proving its lease and sending (SIGSTOP, a long GC pause, a frozen
VM) finds out here, microseconds before the bytes go, and sends nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

SendGuard = Callable[[], None]  # raises to stop the send
_GUARD: ContextVar[SendGuard | None] = ContextVar("aio_bot_send_guard", default=None)


@contextmanager
def guarded(guard: SendGuard) -> Iterator[None]:
    """Commands sent from this task (and what it awaits) pass `guard` first."""
    token = _GUARD.set(guard)
    try:
        yield
    finally:
        _GUARD.reset(token)


def current() -> SendGuard | None:
    return _GUARD.get()
