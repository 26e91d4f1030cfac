"""`raise-limit <host>`: propose FDSNumAIOHandles=65536 (then `reboot <host>` applies it)."""

from __future__ import annotations

from bot.errors import UsageError
from bot.esx.collect import collect_host
from bot.esx.commandlines import AIO_HANDLES_FIXED
from bot.gate import Effect
from bot.remediation.plan import Plan
from bot.remediation.planner import raise_limit_step
from commands.context import Context
from commands.params import host
from commands.planning import propose
from commands.registry import Args, Command
from commands.results import PlanResult


async def run_raise_limit(ctx: Context, args: Args) -> PlanResult:
    target = host(ctx, args["host"])
    report = await collect_host(ctx.transport, target, now=ctx.clock())
    if not report.fix.available:
        raise UsageError(f"I will not raise the limit on {target.name}: {report.fix.reason}")
    if (report.limit.configured or 0) >= AIO_HANDLES_FIXED:
        raise UsageError(f"FDSNumAIOHandles is already {report.limit.configured:,} on "
                         f"{target.name}; `reboot {target.name}` applies it.")
    plan = Plan(target.name, f"Raise FDSNumAIOHandles on {target.name}",
                [raise_limit_step(report)],
                [f"A reboot applies it: `reboot {target.name}` after this."])
    return await propose(ctx, plan)


COMMAND = Command(
    alias="raise-limit {host}",
    summary="Propose FDSNumAIOHandles=65536 on a host where the fix applies.",
    details="Only on ESXi 8.0 U3i or later, where the setting exists; a reboot applies it.",
    handler=run_raise_limit,
    effect=Effect.PROPOSE,
)
