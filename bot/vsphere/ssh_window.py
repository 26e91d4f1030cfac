"""SSH only for the read: `SshWindows.open(host)` starts a stopped TSM-SSH through vCenter
for the duration of an `async with`, and stops it again afterwards (restoring its policy)
only if it was stopped before.

Concurrent reads of one host share one window (a per-host lock and a reference count); a
window is closed when its last reader leaves, or at `max_window` seconds even if readers
are still in it. Every start and stop is reported to `audit(host, event, detail)` with who
or what asked, why, and when. Lockdown mode is read, explained when it blocks the read
(`SshBlocked`), and never changed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.errors import AioBotError
from bot.inventory import HostEntry
from bot.vsphere import host_access
from bot.vsphere.host_access import SshState
from bot.vsphere.session import Session

log = logging.getLogger(__name__)

Audit = Callable[[str, str, dict[str, Any]], Awaitable[None]]  # (host, event, detail)
STARTED, STOPPED, STOP_FAILED = "ssh-started", "ssh-stopped", "ssh-stop-failed"
DEFAULT_MAX_WINDOW = 600.0


@dataclass(eq=False)
class _Window:
    state: SshState
    started: bool  # by us: stop it when the window closes
    actor: str
    readers: int = 0
    closed: bool = False
    timer: asyncio.Task[None] | None = field(default=None, repr=False)
    linger: asyncio.Task[None] | None = field(default=None, repr=False)


class SshWindows:
    """SSH windows on the hosts of one vCenter (`session`).

    `enable_on_demand=False` only checks: a stopped service, a host vCenter does not reach,
    or lockdown mode that keeps the SSH user out are explained (SshBlocked) instead of
    timing out on SSH. `now` gives the audit's timestamps."""

    def __init__(self, session: Session, audit: Audit, *, enable_on_demand: bool = True,
                 max_window: float = DEFAULT_MAX_WINDOW, linger: float = 0.0,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        if max_window <= 0 or linger < 0:
            raise ValueError("max_window must be positive, linger not negative")
        self._linger = linger
        self._session = session
        self._audit = audit
        self._on_demand = enable_on_demand
        self._max_window = max_window
        self._now = now
        self._locks: dict[str, asyncio.Lock] = {}
        self._windows: dict[str, _Window] = {}

    @asynccontextmanager
    async def open(self, host: HostEntry, *, actor: str, reason: str) -> AsyncIterator[SshState]:
        """SSH is running on `host` (its vCenter name) inside the block; `actor` is who or
        what asked (a Slack user ID, "scheduler"), `reason` what for (e.g. "top host01")."""
        key = host.name.lower()
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            window = self._windows.get(key)
            if window is None or window.closed:
                window = await self._new_window(host, actor, reason)
                self._windows[key] = window
            window.readers += 1
            if window.linger is not None:  # a read came before the window closed
                window.linger.cancel()
                window.linger = None
        try:
            yield window.state
        finally:
            await asyncio.shield(self._leave(key, lock, window, actor))

    async def close(self) -> None:
        """Close every open window now (stopping what this bot started)."""
        for key, window in list(self._windows.items()):
            async with self._locks[key]:
                if not window.closed:
                    await self._close(key, window, window.actor, "the bot is shutting down")

    async def _new_window(self, host: HostEntry, actor: str, reason: str) -> _Window:
        state = await asyncio.to_thread(host_access.read_state, self._session, host.name)
        host_access.check_reachable(state)
        host_access.check_lockdown(state, host.username, may_start=self._on_demand)
        if state.running:
            return _Window(state, started=False, actor=actor)
        await asyncio.to_thread(host_access.start_ssh, self._session, state)
        await self._record(state.host, STARTED, actor, reason, policy=state.policy,
                           max_window_seconds=self._max_window)
        window = _Window(state, started=True, actor=actor)
        window.timer = asyncio.create_task(self._expire(host.name.lower(), window),
                                           name=f"aio-ssh-window-{host.name}")
        return window

    async def _leave(self, key: str, lock: asyncio.Lock, window: _Window, actor: str) -> None:
        async with lock:
            window.readers -= 1
            if window.readers == 0 and not window.closed:
                if self._linger and window.started:
                    window.linger = asyncio.create_task(
                        self._linger_close(key, lock, window, actor),
                        name=f"aio-ssh-linger-{window.state.host}")
                else:
                    await self._close(key, window, actor, "the read is done")

    async def _linger_close(self, key: str, lock: asyncio.Lock, window: _Window,
                            actor: str) -> None:
        """Close the window `linger` seconds after its last reader left, unless another
        read came (the next command line of the same collection, say)."""
        await asyncio.sleep(self._linger)
        async with lock:
            if window.readers == 0 and not window.closed:
                await self._close(key, window, actor, "the read is done")

    async def _expire(self, key: str, window: _Window) -> None:
        await asyncio.sleep(self._max_window)
        async with self._locks[key]:
            if not window.closed:
                log.warning("ssh window on %s: still in use after %g s; closing it",
                            window.state.host, self._max_window)
                await self._close(key, window, "aio-bot",
                                  f"the maximum window of {self._max_window:g} s passed")

    async def _close(self, key: str, window: _Window, actor: str, reason: str) -> None:
        """Stop what this window started and restore the policy (the lock is held)."""
        window.closed = True
        if self._windows.get(key) is window:
            del self._windows[key]
        for task in (window.timer, window.linger):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
        if not window.started:
            return
        state = window.state
        try:
            await asyncio.to_thread(host_access.stop_ssh, self._session, state)
            now = await asyncio.to_thread(host_access.read_state, self._session, state.host)
            if now.policy != state.policy:
                await asyncio.to_thread(host_access.set_policy, self._session, state,
                                        state.policy)
        except AioBotError as err:  # SSH may be left running: say so loudly, and record it
            log.error("ssh window on %s: could not stop SSH: %s", state.host, err)
            await self._record(state.host, STOP_FAILED, actor, reason, error=str(err))
            return
        await self._record(state.host, STOPPED, actor, reason, policy=state.policy)

    async def _record(self, host: str, event: str, actor: str, reason: str,
                      **extra: Any) -> None:
        detail = {"actor": actor, "reason": reason, "at": self._now().isoformat(), **extra}
        log.info("ssh window on %s: %s (%s)", host, event, reason)
        try:
            await self._audit(host, event, detail)
        except AioBotError as err:
            log.error("ssh window on %s: the audit of %s failed: %s", host, event, err)
