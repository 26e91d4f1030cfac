"""Fenced execution: a running request acts only while its runner provably holds it.

A run holds leases in the store (its request, and the hosts it touches), each with a fencing
token that the store increments whenever a lease changes holder. `Fence.check` proves, with
one compare-and-set per lease, that the run still holds every one of them with its token and
before they ran out, and extends them; if not, it raises `LeaseLost`, and the run stops. The
run's executors see the hosts and vCenter only through `FencedTransport` and
`FencedVCenter`, which check the fence immediately before every command sent to a host and
every change asked of vCenter, and the run's `sleep` checks it after every poll: a process
paused past its lease (SIGSTOP, a long GC, a frozen VM) sends nothing once it wakes up.
Audit rows, transitions and vCenter changes follow a `check` too, but nothing re-checks the
fence where they are sent (the store's worker thread; the vCenter client): a pause right
between the check and that write can still let one of them through late. A pause between
the store's answer and the end of the check cannot (`check`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.esx import send_guard
from bot.esx.transport import CommandResult, Transport
from bot.inventory import HostEntry
from bot.store.api import Store
from bot.vsphere.api import VCenter, VcInventory, VcVm

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """The run no longer holds its request (another process took it over, or the store
    cannot prove otherwise). Not an AioBotError: nothing may report it as a step failure."""


@dataclass
class Fence:
    store: Store
    holder: str
    ttl: float
    clock: Callable[[], datetime]
    tokens: dict[str, int] = field(default_factory=dict)  # lease name -> token
    lost: str | None = None  # why, once lost: it stays lost
    proven_at: float = field(default_factory=time.monotonic)  # the last successful check

    async def take(self, name: str) -> bool:
        """Add the lease `name` to what this run holds; False when another holder has it."""
        token = await self.store.fence(name, self.holder, self.ttl, self.clock())
        if token is None:
            return False
        self.tokens[name] = token
        return True

    async def check(self) -> None:
        """Prove every lease is still ours and extend it, or raise LeaseLost.

        A proof counts from when it began, not from when this coroutine resumes: the store
        answers in a worker thread, and this process may be paused between the answer and
        the resumption (its event loop blocked, SIGSTOP) past the lease and a takeover, yet
        resume with a proof that held once. So the proof is dated when it began (each lease
        is extended from `now`, read then), and a proof that comes back more than half a
        lease after it began is no proof (`guard`, right here and again right before each
        command goes out)."""
        if self.lost is not None:
            raise LeaseLost(self.lost)
        began = time.monotonic()  # no later than `now`, from which every lease is extended
        now = self.clock()
        for name, token in self.tokens.items():
            try:
                held = await self.store.hold(name, self.holder, token, self.ttl, now)
            except Exception as err:  # cannot prove it: stop, as if lost
                held = False
                why = f"the store could not confirm {name} ({type(err).__name__})"
            else:
                why = f"{name} was taken over or ran out"
            if not held:
                self.lost = why
                raise LeaseLost(why)
        self.proven_at = max(self.proven_at, began)  # checks may overlap (the heartbeat's)
        self.guard()

    def guard(self) -> None:
        """The send guard (`bot.esx.send_guard`): in the SSH worker thread, right before a
        command goes out, and at the end of every `check`. More than half a lease since the
        last proof began means this process was paused in between (or the store answered
        that late): it may have lost the lease, so it stops.

        What remains: a pause of more than half a lease between this check and the bytes
        leaving (`bot.esx.ssh_exec.execute`: a deadline timer started, then `exec_command`,
        in the same thread) still sends that one command late. No check made here can close
        that, only a host that refused stale tokens, and an ESXi host knows none. The window
        is microseconds wide; a send that passes is within half a lease of a proof, so half
        a lease before another replica may take over (clocks agreeing within that half)."""
        if self.lost is not None:
            raise LeaseLost(self.lost)
        if time.monotonic() - self.proven_at > self.ttl / 2:
            self.lost = "paused for more than half a lease since the last proof"
            raise LeaseLost(self.lost)

    async def release(self) -> None:
        for name in self.tokens:
            try:
                await self.store.release_lease(name, self.holder)
            except Exception:
                log.warning("could not release lease %s (it will expire)", name)

    async def sleep(self, seconds: float) -> None:
        """`asyncio.sleep`, then the fence: a long wait checks it between polls."""
        await asyncio.sleep(seconds)
        await self.check()


@dataclass(frozen=True)
class FencedTransport:
    """The hosts, as a fenced run sees them: the fence is checked before every command."""

    inner: Transport
    fence: Fence

    async def run(self, host: HostEntry, command: str, *, timeout: float | None = None,
                  check: bool = True) -> CommandResult:
        await self.fence.check()
        with send_guard.guarded(self.fence.guard):
            return await self.inner.run(host, command, timeout=timeout, check=check)

    async def close(self) -> None:
        return None  # the transport is the bot's, not the run's


@dataclass(frozen=True)
class FencedVCenter:
    """vCenter, as a fenced run sees it: the fence is checked before every change."""

    inner: VCenter
    fence: Fence

    async def inventory(self) -> VcInventory:
        return await self.inner.inventory()

    async def find_vm_by_uuid(self, bios_uuid: str) -> VcVm:
        return await self.inner.find_vm_by_uuid(bios_uuid)

    async def relocate(self, vm: VcVm, target_host: str, *, deadline: float) -> VcVm:
        await self.fence.check()
        return await self.inner.relocate(vm, target_host, deadline=deadline)

    async def shutdown_guest(self, vm: VcVm, *, deadline: float) -> VcVm:
        await self.fence.check()
        return await self.inner.shutdown_guest(vm, deadline=deadline)

    async def power_off(self, vm: VcVm, *, deadline: float) -> VcVm:
        await self.fence.check()
        return await self.inner.power_off(vm, deadline=deadline)

    async def enter_maintenance(self, host: str, *, deadline: float) -> None:
        await self.fence.check()
        await self.inner.enter_maintenance(host, deadline=deadline)

    async def exit_maintenance(self, host: str, *, deadline: float) -> None:
        await self.fence.check()
        await self.inner.exit_maintenance(host, deadline=deadline)

    async def close(self) -> None:
        return None
