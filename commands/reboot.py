"""`reboot <host>`: propose a reboot through maintenance mode (VMs moved or powered off)."""

from __future__ import annotations

from bot.gate import Effect
from bot.remediation.planner import plan_reboot
from commands.context import Context
from commands.params import host
from commands.planning import propose, situation
from commands.registry import Args, Command
from commands.results import PlanResult


async def run_reboot(ctx: Context, args: Args) -> PlanResult:
    s = await situation(ctx, host(ctx, args["host"]))
    return await propose(ctx, plan_reboot(s.source, s.cluster, s.inventory, ctx.thresholds))


COMMAND = Command(
    alias="reboot {host}",
    summary="Propose a reboot through maintenance mode, moving its vGPU VMs off first.",
    details="DRS does not evacuate vGPU VMs: the plan migrates them, or powers off the rest.",
    handler=run_reboot,
    effect=Effect.PROPOSE,
    interrupts_guests=True,
)
