"""`fix <host>`: propose the KB's remediation for a host, as a request to approve."""

from __future__ import annotations

from bot.gate import Effect
from bot.remediation.planner import plan_fix
from commands.context import Context
from commands.params import host
from commands.planning import propose, situation
from commands.registry import Args, Command
from commands.results import PlanResult


async def run_fix(ctx: Context, args: Args) -> PlanResult:
    s = await situation(ctx, host(ctx, args["host"]))
    return await propose(ctx, plan_fix(s.source, s.cluster, s.inventory, ctx.thresholds))


COMMAND = Command(
    alias="fix {host}",
    summary="Propose the remediation for a host; an approver runs it with a button.",
    details=(
        "Raise FDSNumAIOHandles and reboot where the fix applies (8.0 U3i+); reboot where the "
        "setting waits for one; otherwise migrate the heaviest VMs to hosts of the same "
        "cluster with room and the same vGPU profile (power-off only for VMs with nowhere "
        "to go)."
    ),
    handler=run_fix,
    effect=Effect.PROPOSE,
    interrupts_guests=True,
)
