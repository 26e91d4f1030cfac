"""`migrate <vm> [to <host>]`: propose moving one VM, to the given host or the best one."""

from __future__ import annotations

from bot.errors import UsageError
from bot.gate import Effect
from bot.remediation.planner import plan_migrate
from commands.context import Context
from commands.params import host
from commands.planning import find_vm, propose, situation
from commands.registry import Args, Command
from commands.results import PlanResult


async def run_migrate(ctx: Context, args: Args) -> PlanResult:
    target = args.get("host")
    if target is not None:
        target = host(ctx, target).name
    source, vm, _ = await find_vm(ctx, args["vm"])
    if target is not None and target == source.name:
        raise UsageError(f"{vm.name} already runs on {target}.")
    s = await situation(ctx, source)
    plan = plan_migrate(s.source, s.cluster, s.inventory, ctx.thresholds, vm, target)
    return await propose(ctx, plan)


COMMAND = Command(
    alias="migrate {vm} [to {host}]",
    summary="Propose moving a VM to a host with room (or the one you name: `to <host>`).",
    details="Quote names with spaces: migrate \"QA Win11 Desktop\" to host04.",
    handler=run_migrate,
    effect=Effect.PROPOSE,
)
