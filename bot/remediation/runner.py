"""One approved request, run by this process under its fence (`bot.remediation.fence`): the
first step's preconditions, then each step re-checked, run and verified, every action fenced,
every transition a compare-and-set. Telling people (the narrator) can never stop, fail or
reorder a step: its calls are caught and logged here, and the Slack narrator queues its posts.

When the fence is lost (another process took the request over after this one paused past its
lease), the run stops where it is, sends nothing more to hosts or vCenter, writes nothing
more to the request, and says so in the log: the process that took over has ended the
request as `interrupted`, for a person to review."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.errors import AioBotError, PreconditionFailed
from bot.remediation.executors import migrate, power_off, raise_limit, reboot
from bot.remediation.executors.base import Executor, Executors
from bot.remediation.fence import Fence, FencedTransport, FencedVCenter, LeaseLost
from bot.remediation.narrator import Narrator
from bot.remediation.plan import Plan, Step, StepKind
from bot.store.api import Request, State, Store

log = logging.getLogger(__name__)
SYSTEM = "aio-bot"
TELL_SECONDS = 2.0  # at most this long for one narrator call: telling waits for no one

EXECUTORS: dict[StepKind, Executor] = {
    StepKind.RAISE_LIMIT: raise_limit,
    StepKind.REBOOT: reboot,
    StepKind.MIGRATE: migrate,
    StepKind.POWER_OFF: power_off,
}


@dataclass(frozen=True)
class Outcome:
    request: Request
    ok: bool
    summary: str


class _Moved(Exception):
    pass


@dataclass
class Run:
    store: Store
    executors: Executors
    fence: Fence
    narrator: Narrator
    request: Request  # approved
    user: str
    clock: Callable[[], datetime]

    async def execute(self) -> Outcome:
        ex = replace(self.executors,
                     transport=FencedTransport(self.executors.transport, self.fence),
                     vcenter=FencedVCenter(self.executors.vcenter, self.fence),
                     sleep=self.fence.sleep)
        heartbeat = asyncio.get_running_loop().create_task(self._heartbeat())
        try:
            outcome = await self._steps(ex)
        except (LeaseLost, _Moved) as why:
            log.warning("request #%d: this process no longer holds it (%s); stopping here, "
                        "nothing more is sent to hosts or vCenter", self.request.id, why)
            current = await self._current()
            return Outcome(current, False, "Stopped: another bot process took this request "
                                           "over; see how it ended.")
        finally:
            heartbeat.cancel()
        await self._tell_changed(outcome.request)
        await self._say(outcome.request,
                        ("Done: " if outcome.ok else "Failed: ") + outcome.summary)
        return outcome

    async def _heartbeat(self) -> None:
        """Keep the leases while the run goes on; a renewal that fails or comes late marks
        the fence lost, and the run stops at its next fenced action."""
        while True:
            await asyncio.sleep(self.fence.ttl / 3)
            try:
                await self.fence.check()
            except LeaseLost as why:
                log.warning("request #%d: lease lost (%s)", self.request.id, why)
                return

    async def _steps(self, ex: Executors) -> Outcome:
        plan = Plan.from_json(self.request.params["plan"])
        try:
            await EXECUTORS[plan.steps[0].kind].check(plan.steps[0], ex)
        except PreconditionFailed as err:
            failed = await self._move(self.request, State.APPROVED, State.FAILED,
                                      {"refused": str(err)}, outcome=f"Refused: {err}",
                                      actor=self.user)
            return Outcome(failed, False, f"Refused: {err} Nothing was changed.")
        running = await self._move(self.request, State.APPROVED, State.RUNNING, None,
                                   actor=self.user)
        await self._tell_changed(running, "Working on it; progress in the thread.")
        done: list[str] = []
        for number, step in enumerate(plan.steps, 1):
            error = await self._run_step(ex, running, number, step, done)
            if error is not None:
                summary = _failure_summary(number, len(plan.steps), error, done)
                failed = await self._move(running, State.RUNNING, State.FAILED,
                                          {"step": number, "error": error}, outcome=summary)
                return Outcome(failed, False, summary)
        summary = " ".join(done)
        ok = await self._move(running, State.RUNNING, State.SUCCEEDED,
                              {"steps": len(plan.steps)}, outcome=summary)
        return Outcome(ok, True, summary)

    async def _run_step(self, ex: Executors, request: Request, number: int, step: Step,
                        done: list[str]) -> str | None:
        """Check and run one step; its outcome appended to `done`, or the error returned.
        LeaseLost goes through: it is not the step's failure."""
        executor = EXECUTORS[step.kind]
        await self._audit(request, "step-started", {"step": number, **step.to_json()})

        async def say(text: str) -> None:
            await self._say(request, text)

        try:
            if number == 1 or not ex.dry_run:  # a dry run changes nothing, so later
                await executor.check(step, ex)  # steps' checks cannot hold
            result: str = await executor.run(step, ex, say)
        except LeaseLost:
            raise
        except AioBotError as err:
            await self._audit(request, "step-failed", {"step": number, "error": str(err)})
            return str(err)
        except Exception as err:  # the boundary: never leave a request running
            log.exception("step %d of request %d crashed", number, request.id)
            await self._audit(request, "step-failed", {"step": number, "error": repr(err)})
            return f"internal error ({type(err).__name__}); see the bot's log"
        await self._audit(request, "step-succeeded", {"step": number, "output": result})
        await say(f"Step {number} done: {result}")
        done.append(result)
        return None

    async def _move(self, request: Request, old: State, new: State,
                    detail: dict[str, Any] | None, *, actor: str = SYSTEM,
                    outcome: str | None = None) -> Request:
        await self.fence.check()
        moved = await self.store.transition(request.id, old, new, actor=actor,
                                            now=self.clock(), detail=detail, outcome=outcome)
        if moved is None:
            raise _Moved(f"it is no longer {old.value}")
        return moved

    async def _audit(self, request: Request, event: str, detail: dict[str, Any]) -> None:
        await self.fence.check()
        await self.store.audit(request.id, request.host, SYSTEM, event, detail,
                               now=self.clock())

    async def _current(self) -> Request:
        try:
            return await self.store.get(self.request.id) or self.request
        except Exception:
            return self.request

    async def _say(self, request: Request, text: str) -> None:
        try:  # telling people never stands in a change's way: bounded, and never raises
            await asyncio.wait_for(self.narrator.progress(request, text), TELL_SECONDS)
        except Exception as err:
            log.warning("could not tell about request #%d (%s)", request.id,
                        type(err).__name__)

    async def _tell_changed(self, request: Request, note: str | None = None) -> None:
        try:
            await asyncio.wait_for(self.narrator.changed(request, note), TELL_SECONDS)
        except Exception as err:
            log.warning("could not show request #%d (%s)", request.id, type(err).__name__)


def _failure_summary(number: int, total: int, error: str, done: list[str]) -> str:
    before = f" Steps done before it: {' '.join(done)}" if done else " Nothing was changed."
    return f"Step {number} of {total} failed: {error}{before}"
