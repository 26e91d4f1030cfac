"""`approve <id> [as <user>]` and `reject <id>`: act on a proposed request. In Slack the
buttons do the same; `as` works only in the console (to try the flow as someone else)."""

from __future__ import annotations

from bot.errors import UsageError
from commands import needs
from commands.context import Context
from commands.params import bounded_int
from commands.registry import Args, Command
from commands.results import OutcomeResult, RequestResult


def actor(ctx: Context, args: Args) -> str:
    word, user = args.get("word"), args.get("user")
    if word is None:
        return ctx.caller
    if word.lower() != "as" or user is None:
        raise UsageError("Write `approve <id>` (or, in the console, `approve <id> as <user>`).")
    if not ctx.may_act_as_others:
        raise UsageError("`as <user>` only works in the console.")
    return user


def request_id(args: Args) -> int:
    return bounded_int(args["id"].lstrip("#"), name="id", default=0, low=1, high=10**9)


async def run_approve(ctx: Context, args: Args) -> OutcomeResult:
    remediation = needs.remediation(ctx)
    say = ctx.say or _quiet
    return OutcomeResult(await remediation.approve(request_id(args), actor(ctx, args), say))


async def run_reject(ctx: Context, args: Args) -> RequestResult:
    remediation = needs.remediation(ctx)
    return RequestResult(await remediation.reject(request_id(args), actor(ctx, args)))


async def _quiet(text: str) -> None:
    return None


APPROVE = Command(
    alias="approve {id} [{word}] [{user}]",
    summary="Approve a proposed change (approvers only; not your own) and run it.",
    details="The preconditions are checked again before anything runs.",
    handler=run_approve,
    mutating=True,
)

REJECT = Command(
    alias="reject {id} [{word}] [{user}]",
    summary="Reject a proposed change (approvers), or withdraw your own.",
    details="",
    handler=run_reject,
)
