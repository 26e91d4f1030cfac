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
from bot.errors import AioBotError, PreconditionFailed, UsageError
from bot.gate import Caller, Effect, Gate, Refused
from bot.remediation.executors import migrate, power_off, raise_limit, reboot
from bot.remediation.executors.base import Executor, Executors, Say
from bot.remediation.narrator import QUIET, Narrator
from bot.remediation.plan import Plan, Step, StepKind
from bot.store.api import NewRequest, Request, State, Store

log = logging.getLogger(__name__)
SYSTEM = "aio-bot"

EXECUTORS: dict[StepKind, Executor] = {
    StepKind.RAISE_LIMIT: raise_limit,
    StepKind.REBOOT: reboot,
    StepKind.MIGRATE: migrate,
    StepKind.POWER_OFF: power_off,
}
DEFAULT_EXPIRY = timedelta(minutes=30)
LEASE_TTL = 60.0  # seconds: a request whose runner stopped renewing is taken as interrupted


def process_id() -> str:
    """Who runs a request, for its lease: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class RequestRefused(Refused):
    """The button or command cannot act on this request (closed, expired, not allowed)."""


@dataclass(frozen=True)
class Outcome:
    request: Request
    ok: bool
    summary: str


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
            now = self.clock()
            new = NewRequest(kind=_kind(plan), target=_target(plan), host=plan.host,
                             params={"plan": plan.to_json()}, requested_by=who.user,
                             expires_at=now + self.expiry, channel=who.channel)
            return await self.store.create(new, now=now)

    async def open_proposals(self, user: str) -> list[Request]:
        """`user`'s proposals still waiting for a decision (the gate's per-user limit)."""
        proposed = await self.store.requests(states=frozenset({State.PROPOSED}), limit=1000)
        return [r for r in proposed if r.requested_by == user and r.expires_at > self.clock()]

    async def approve(self, request_id: int, caller: Caller | str,
                      narrator: Narrator = QUIET) -> Outcome:
        """Approve and run, telling `narrator` as it goes."""
        who = _caller(caller)
        request = await self._open(request_id, narrator)
        try:
            await self.gate.authorize(who, Effect.APPROVE, request)
        except Refused as err:
            await self._audit(request, who.user, "approval-refused", {"reason": str(err)})
            raise RequestRefused(str(err)) from None
        user = who.user
        if not await self.store.lease(_lease(request), self.holder, self.lease_ttl,
                                      self.clock()):
            raise RequestRefused(f"Request #{request.id} is being approved by someone else.")
        self._mine.add(request.id)
        try:
            approved = await self._move(request, State.PROPOSED, State.APPROVED, user,
                                        approved_by=user)
            return await self._execute(approved, user, narrator)
        finally:
            self._mine.discard(request.id)
            await self.store.release_lease(_lease(request), self.holder)

    async def reject(self, request_id: int, caller: Caller | str,
                     narrator: Narrator = QUIET) -> Request:
        """The requester cancels; an approver rejects; nobody else may."""
        who = _caller(caller)
        request = await self._open(request_id, narrator)
        try:
            await self.gate.authorize(who, Effect.REJECT, request)
        except Refused as err:
            raise RequestRefused(str(err)) from None
        user = who.user
        state = State.CANCELLED if user == request.requested_by else State.REJECTED
        rejected = await self._move(request, State.PROPOSED, state, user,
                                    outcome=f"{state.value} by {user}")
        await narrator.changed(rejected)
        return rejected

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
        """Requests left approved or running by a bot process that stopped (its lease ran
        out) end as failed, with what the audit says was done: a definite, reported state."""
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
                request.id, request.state, State.FAILED, actor=SYSTEM, now=self.clock(),
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
                f"{len(done)} of {len(plan.steps)} step(s).{where}{before}")

    async def _execute(self, request: Request, user: str, narrator: Narrator) -> Outcome:
        """Run under the request's lease (taken by `approve`), renewed while it runs; the
        narrator hears the start, each step and the end."""
        heartbeat = asyncio.create_task(self._heartbeat(request))
        try:
            outcome = await self._execute_steps(request, user, narrator)
        finally:
            heartbeat.cancel()
        await narrator.changed(outcome.request)
        await narrator.progress(outcome.request,
                                ("Done: " if outcome.ok else "Failed: ") + outcome.summary)
        return outcome

    async def _heartbeat(self, request: Request) -> None:
        while True:
            await asyncio.sleep(self.lease_ttl / 3)
            try:
                await self.store.lease(_lease(request), self.holder, self.lease_ttl,
                                       self.clock())
            except Exception:  # a store hiccup: the next beat tries again
                log.exception("could not renew the lease of request %d", request.id)

    async def _execute_steps(self, request: Request, user: str,
                             narrator: Narrator) -> Outcome:
        plan = Plan.from_json(request.params["plan"])
        try:
            await EXECUTORS[plan.steps[0].kind].check(plan.steps[0], self.executors)
        except PreconditionFailed as err:
            failed = await self._move(request, State.APPROVED, State.FAILED, user,
                                      {"refused": str(err)}, outcome=f"Refused: {err}")
            return Outcome(failed, False, f"Refused: {err} Nothing was changed.")
        running = await self._move(request, State.APPROVED, State.RUNNING, user)
        await narrator.changed(running, "Working on it; progress in the thread.")

        async def say(text: str) -> None:
            await narrator.progress(running, text)

        done: list[str] = []
        for number, step in enumerate(plan.steps, 1):
            error = await self._run_step(running, number, step, say, done)
            if error is not None:
                summary = _failure_summary(number, len(plan.steps), error, done)
                failed = await self._move(running, State.RUNNING, State.FAILED, "aio-bot",
                                          {"step": number, "error": error}, outcome=summary)
                return Outcome(failed, False, summary)
        summary = " ".join(done)
        ok = await self._move(running, State.RUNNING, State.SUCCEEDED, "aio-bot",
                              {"steps": len(plan.steps)}, outcome=summary)
        return Outcome(ok, True, summary)

    async def _run_step(self, request: Request, number: int, step: Step, say: Say,
                        done: list[str]) -> str | None:
        """Check and run one step; its outcome appended to `done`, or the error returned."""
        executor = EXECUTORS[step.kind]
        await self._audit(request, "aio-bot", "step-started", {"step": number,
                                                                **step.to_json()})
        try:
            if number == 1 or not self.executors.dry_run:  # a dry run changes nothing, so
                await executor.check(step, self.executors)  # later steps' checks can't hold
            result: str = await executor.run(step, self.executors, say)
        except AioBotError as err:
            await self._audit(request, "aio-bot", "step-failed", {"step": number,
                                                                   "error": str(err)})
            return str(err)
        except Exception as err:  # the boundary: never leave a request running
            log.exception("step %d of request %d crashed", number, request.id)
            await self._audit(request, "aio-bot", "step-failed", {"step": number,
                                                                   "error": repr(err)})
            return f"internal error ({type(err).__name__}); see the bot's log"
        await self._audit(request, "aio-bot", "step-succeeded", {"step": number,
                                                                  "output": result})
        await say(f"Step {number} done: {result}")
        done.append(result)
        return None

    async def _audit(self, request: Request, actor: str, event: str,
                     detail: dict[str, Any]) -> None:
        await self.store.audit(request.id, request.host, actor, event, detail,
                               now=self.clock())


def _lease(request: Request) -> str:
    return f"request:{request.id}"


def _failure_summary(number: int, total: int, error: str, done: list[str]) -> str:
    before = f" Steps done before it: {' '.join(done)}" if done else " Nothing was changed."
    return f"Step {number} of {total} failed: {error}{before}"


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
