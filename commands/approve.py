"""`approve <id> [as <user>] [confirm]` and `reject <id> [as <user>]`: decide on a proposed
request. In Slack the buttons run the same commands. `as` works only where the caller is the
machine's operator (console, CLI). A plan that interrupts guests is shown first and runs only
with `confirm` (in Slack, the button's confirmation dialog)."""

from __future__ import annotations

from bot.errors import UsageError
from bot.gate import Caller, Effect
from bot.remediation.narrator import QUIET as _QUIET
from bot.remediation.plan import Plan
from bot.remediation.service import RequestRefused
from bot.store.api import State
from commands import needs
from commands.context import Context
from commands.params import bounded_int
from commands.registry import Args, Command
from commands.results import ConfirmResult, OutcomeResult, RequestResult

MAX_REQUEST_ID = 10**9


def actor(ctx: Context, args: Args) -> Caller:
    user = args.get("user")
    if user is None:
        return ctx.principal
    if not ctx.may_act_as_others:
        raise UsageError("`as <user>` only works in the console and the CLI; in Slack you "
                         "approve as yourself.")
    return ctx.principal.acting_as(user)


def request_id(args: Args) -> int:
    return bounded_int(args["id"].lstrip("#"), name="id", default=0, low=1, high=MAX_REQUEST_ID)


async def run_approve(ctx: Context, args: Args) -> OutcomeResult | ConfirmResult:
    remediation = needs.remediation(ctx)
    number, who = request_id(args), actor(ctx, args)
    if "confirm" not in args:
        request = await remediation.store.get(number)
        if request is None:
            raise RequestRefused(f"There is no request #{number}.")
        plan = Plan.from_json(request.params["plan"])
        if plan.destructive and request.state is State.PROPOSED:  # else: say why not, below
            await ctx.gate.authorize(who, Effect.APPROVE, request)
            return ConfirmResult(request, plan, who.user)
    return OutcomeResult(await remediation.approve(number, who, ctx.narrator or _QUIET))


async def run_reject(ctx: Context, args: Args) -> RequestResult:
    remediation = needs.remediation(ctx)
    return RequestResult(await remediation.reject(request_id(args), actor(ctx, args),
                                                  ctx.narrator or _QUIET))


APPROVE = Command(
    alias="approve {id} [as {user}] [confirm]",
    summary="Approve a proposed change (approvers only; not your own) and run it.",
    details=("The preconditions are checked again before anything runs. A change that "
             "interrupts guests is shown first; add `confirm` (or confirm the button) to run it."),
    handler=run_approve,
    effect=Effect.APPROVE,
)

REJECT = Command(
    alias="reject {id} [as {user}]",
    summary="Reject a proposed change (approvers), or withdraw your own.",
    details="",
    handler=run_reject,
    effect=Effect.REJECT,
)
