"""`check <host>`: the host's verdict and what to do about it."""

from __future__ import annotations

import asyncio

from bot.assess import assess
from bot.esx.collect import collect_host
from commands.context import Context
from commands.params import host
from commands.registry import Args, Command
from commands.results import CheckResult
from commands.vcenter_facts import vcenter_facts


async def run_check(ctx: Context, args: Args) -> CheckResult:
    target = host(ctx, args["host"])
    report, facts = await asyncio.gather(collect_host(ctx.transport, target, now=ctx.clock()),
                                         vcenter_facts(ctx, target))
    return CheckResult(report, assess(report, ctx.thresholds), facts)


COMMAND = Command(
    alias="check {host}",
    summary="Verdict for one host (ok, warning, critical) and the recommended action.",
    details=(
        "Says whether the FDSNumAIOHandles fix applies (ESXi 8.0 U3i or later), whether a "
        "reboot is pending, and otherwise which VMs to migrate or power off."
    ),
    handler=run_check,
)
