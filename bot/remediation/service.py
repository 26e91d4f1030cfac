"""Proposals, approvals and execution of remediation requests.

Every state change is a compare-and-set in the store, so a double click, a Slack retry or
two replicas run a request at most once. On approval the preconditions are checked again,
each step is re-checked just before it runs, and every step lands in the audit trail."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.clock import utcnow
from bot.errors import UsageError
from bot.gate import Caller, Effect, Gate, Refused
from bot.remediation.executors.base import Executors
from bot.remediation.fence import Fence
from bot.remediation.narrator import QUIET, Narrator
from bot.remediation.plan import Plan
from bot.remediation.runner import SYSTEM, Outcome, Run
from bot.store.api import NewRequest, Request, State, Store

log = logging.getLogger(__name__)

DEFAULT_EXPIRY = timedelta(minutes=30)
OPEN = frozenset({State.PROPOSED, State.APPROVED, State.RUNNING})
LEASE_TTL = 60.0  # seconds: a request whose runner stopped renewing is taken as interrupted


def process_id() -> str:
    """Who runs a request, for its lease: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class RequestRefused(Refused):
    """The button or command cannot act on this request (closed, expired, not allowed)."""


@dataclass
class Remediation:
    store: Store
    executors: Executors
    gate: Gate = field(default_factory=Gate)
    expiry: timedelta = DEFAULT_EXPIRY
    clock: Callable[[], datetime] = utcnow
    holder: str = field(default_factory=process_id)
    lease_ttl: float = LEASE_TTL
    _mine: set[int] = field(default_factory=set, repr=False)  # requests this process runs
    _proposing: defaultdict[str, asyncio.Lock] = field(
        default_factory=lambda: defaultdict(asyncio.Lock), repr=False)

    async def propose(self, plan: Plan, caller: Caller | str, channel: str | None = None
                      ) -> Request:
        """Store `plan` as a request waiting for approval, if the gate lets `caller` open one
        more (one person's proposals are made one at a time, so a burst cannot pass the
        per-user limit together)."""
        who = _caller(caller, channel)
        if not plan.steps:
            raise UsageError(" ".join(plan.notes) or f"Nothing to do on {plan.host}.")
        async with self._proposing[who.user]:
            await self.gate.authorize(who, Effect.PROPOSE)
            await self._no_open_request_for(plan)
            now = self.clock()
            new = NewRequest(kind=_kind(plan), target=_target(plan), host=plan.host,
                             params={"plan": plan.to_json()}, requested_by=who.user,
                             expires_at=now + self.expiry, channel=who.channel)
            return await self.store.create(new, now=now)

    async def _no_open_request_for(self, plan: Plan) -> None:
        """One open request per host and per VM: a second proposal points to the first."""
        vms = {s.vm for s in plan.steps if s.vm}
        now = self.clock()
        for r in await self.store.requests(states=OPEN, limit=1000):
            if r.state is State.PROPOSED and r.expires_at <= now:
                continue  # expired; the sweeper has not moved it yet
            other = Plan.from_json(r.params["plan"])
            same_vm = vms & {s.vm for s in other.steps if s.vm}
            if other.host.lower() == plan.host.lower() or same_vm:
                what = next(iter(same_vm)) if same_vm else plan.host
                raise RequestRefused(
                    f"Request #{r.id} is already open for {what} ({r.state.value}, proposed "
                    f"by {r.requested_by}); approve, reject or wait for it before proposing "
                    "another.")

    async def open_proposals(self, user: str) -> list[Request]:
        """`user`'s proposals still waiting for a decision (the gate's per-user limit)."""
        proposed = await self.store.requests(states=frozenset({State.PROPOSED}), limit=1000)
        return [r for r in proposed if r.requested_by == user and r.expires_at > self.clock()]

    async def approve(self, request_id: int, caller: Caller | str,
                      narrator: Narrator = QUIET) -> Outcome:
        """Approve and run, telling `narrator` as it goes."""
        who, request = await self._decision(request_id, caller, Effect.APPROVE, narrator)
        fence = await self._fence(request)
        self._mine.add(request.id)
        try:
            approved = await self._move(request, State.PROPOSED, State.APPROVED, who.user,
                                        approved_by=who.user)
            return await Run(self.store, self.executors, fence, narrator, approved, who.user,
                             self.clock).execute()
        finally:
            self._mine.discard(request.id)
            await fence.release()

    async def _decision(self, request_id: int, caller: Caller | str, effect: Effect,
                        narrator: Narrator) -> tuple[Caller, Request]:
        """The open request and who decides on it, once the gate agrees (a refused approval
        is audited)."""
        who = _caller(caller)
        request = await self._open(request_id, narrator)
        try:
            await self.gate.authorize(who, effect, request)
        except Refused as err:
            if effect is Effect.APPROVE:
                await self._audit(request, who.user, "approval-refused", {"reason": str(err)})
            raise RequestRefused(str(err)) from None
        return who, request

    async def _fence(self, request: Request) -> Fence:
        """The run's leases: the request, and each host its plan touches (one running change
        per host: a migration holds its source and its target). Refused when another holds
        one of them; then nothing is held."""
        attempt = f"{self.holder}#r{request.id}:{uuid.uuid4().hex[:6]}"  # one per approval
        fence = Fence(self.store, attempt, self.lease_ttl, self.clock)
        if not await fence.take(_lease(request)):
            raise RequestRefused(f"Request #{request.id} is being approved by someone else.")
        for host in sorted(_hosts(Plan.from_json(request.params["plan"]))):
            if not await fence.take(f"host:{host.lower()}"):
                await fence.release()
                raise RequestRefused(await self._busy(host, request.id))
        return fence

    async def _busy(self, host: str, request_id: int) -> str:
        running = [r for r in await self.store.requests(
            states=frozenset({State.APPROVED, State.RUNNING}), limit=1000)
            if r.id != request_id and host.lower() in
            {h.lower() for h in _hosts(Plan.from_json(r.params["plan"]))}]
        which = f" (request #{running[0].id})" if running else ""
        return (f"Another change is running on {host}{which}; approve #{request_id} when it "
                "has ended. It stays proposed until then.")

    async def reject(self, request_id: int, caller: Caller | str,
                     narrator: Narrator = QUIET) -> Request:
        """The requester cancels; an approver rejects; nobody else may."""
        who, request = await self._decision(request_id, caller, Effect.REJECT, narrator)
        user = who.user
        state = State.CANCELLED if user == request.requested_by else State.REJECTED
        rejected = await self._move(request, State.PROPOSED, state, user,
                                    outcome=f"{state.value} by {user}")
        await narrator.changed(rejected)
        return rejected

    async def withdraw(self, request_id: int, why: str) -> Request | None:
        """Cancel a proposal that nobody can see (its message failed to post)."""
        return await self.store.transition(request_id, State.PROPOSED, State.CANCELLED,
                                           actor=SYSTEM, now=self.clock(), outcome=why)

    async def expire_due(self) -> list[Request]:
        return await self.store.expire_due(now=self.clock())

    async def _open(self, request_id: int, narrator: Narrator) -> Request:
        """The request, while it waits for a decision; else RequestRefused (and the
        narrator shown its current state, so that a stale message catches up)."""
        request = await self.store.get(request_id)
        if request is None:
            raise RequestRefused(f"There is no request #{request_id}.")
        if request.state is State.PROPOSED and self.clock() >= request.expires_at:
            for expired in await self.store.expire_due(now=self.clock()):
                await narrator.changed(expired)
            raise RequestRefused(f"Request #{request_id} expired at "
                                 f"{request.expires_at:%H:%M} UTC; propose it again.")
        if request.state is not State.PROPOSED:
            await narrator.changed(request)
            who = f" by {request.approved_by}" if request.approved_by else ""
            raise RequestRefused(f"Request #{request_id} is already {request.state}{who}.")
        return request

    async def _move(self, request: Request, old: State, new: State, actor: str,
                    detail: dict[str, Any] | None = None, **fields: str | None) -> Request:
        moved = await self.store.transition(request.id, old, new, actor=actor,
                                            now=self.clock(), detail=detail, **fields)
        if moved is None:
            current = await self.store.get(request.id)
            state = current.state if current else "gone"
            raise RequestRefused(f"Request #{request.id} is already {state}.")
        return moved

    async def recover_interrupted(self) -> list[Request]:
        """Requests left approved or running by a bot process that stopped or paused past its
        lease end as `interrupted`, with what the audit says was done: a definite, reported
        state that a person must review (the host may be half-way). Taking the lease over
        moves its fencing token on: the old runner, if it wakes up, can act no more."""
        ended = []
        for request in await self.store.requests(states=frozenset({State.APPROVED,
                                                                   State.RUNNING})):
            if request.id in self._mine:
                continue
            if not await self.store.lease(_lease(request), self.holder, self.lease_ttl,
                                          self.clock()):
                continue  # its runner is alive
            summary = await self._interrupted_summary(request)
            moved = await self.store.transition(
                request.id, request.state, State.INTERRUPTED, actor=SYSTEM, now=self.clock(),
                detail={"interrupted": summary}, outcome=summary)
            await self.store.release_lease(_lease(request), self.holder)
            if moved is not None:
                ended.append(moved)
        return ended

    async def _interrupted_summary(self, request: Request) -> str:
        plan = Plan.from_json(request.params["plan"])
        trail = await self.store.audit_trail(request_id=request.id, limit=1000)
        done = [str(e.detail.get("output", "")) for e in trail if e.event == "step-succeeded"]
        started = sum(1 for e in trail if e.event == "step-started")
        if started > len(done):
            step = plan.steps[started - 1]
            where = (f" Step {started} ({step.kind.value} {step.vm or step.host}) was under way: "
                     f"check {step.host}{' and ' + step.target if step.target else ''}.")
        else:
            where = " No step was under way."
        before = f" Done before: {' '.join(done)}" if done else ""
        return (f"Interrupted: the bot process running this request stopped after "
                f"{len(done)} of {len(plan.steps)} step(s); a person must check the hosts "
                f"before anything else runs there.{where}{before}")

    async def _audit(self, request: Request, actor: str, event: str,
                     detail: dict[str, Any]) -> None:
        await self.store.audit(request.id, request.host, actor, event, detail,
                               now=self.clock())


def _lease(request: Request) -> str:
    return f"request:{request.id}"


def _hosts(plan: Plan) -> set[str]:
    """Every host a plan acts on: its host, and where its migrations go."""
    return {plan.host} | {s.host for s in plan.steps} | {s.target for s in plan.steps
                                                         if s.target}


def _kind(plan: Plan) -> str:
    kinds = {s.kind for s in plan.steps}
    return plan.steps[0].kind.value if len(kinds) == 1 else "fix"


def _target(plan: Plan) -> str:
    if len(plan.steps) == 1 and plan.steps[0].vm:
        return plan.steps[0].vm
    return plan.host


def _caller(caller: Caller | str, channel: str | None = None) -> Caller:
    """A Caller; a bare user name is a local (console) caller, as in the engine's tests."""
    if isinstance(caller, Caller):
        return caller
    return Caller(caller, "console", channel)
