"""`power-off <vm> [hard]`: propose shutting a VM down (hard power-off only when asked)."""

from __future__ import annotations

from bot.gate import Effect
from bot.remediation.plan import Plan
from bot.remediation.planner import power_off_step
from commands.context import Context
from commands.planning import find_vm, propose
from commands.registry import Args, Command
from commands.results import PlanResult


async def run_power_off(ctx: Context, args: Args) -> PlanResult:
    hard = "hard" in args
    source, vm, report = await find_vm(ctx, args["vm"])
    step = power_off_step(report, vm, f"Requested by {ctx.caller}.", hard=hard)
    return await propose(ctx, Plan(source.name, f"Power off {vm.name}", [step]))


COMMAND = Command(
    alias="power-off {vm} [hard]",
    summary="Propose shutting a VM down (`hard` powers it off without asking the guest).",
    details="The guest is asked to shut down unless `hard` is given.",
    handler=run_power_off,
    effect=Effect.PROPOSE,
    interrupts_guests=True,
)
