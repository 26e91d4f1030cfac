"""`top <host> [limit=N]`: the host's VMs ranked by the AIO handles they hold."""

from __future__ import annotations

import asyncio

from bot.assess import assess
from bot.esx.collect import collect_host
from commands.context import Context
from commands.params import bounded_int, host
from commands.registry import Args, Command
from commands.results import TopResult
from commands.vcenter_facts import vcenter_facts

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000


async def run_top(ctx: Context, args: Args) -> TopResult:
    target = host(ctx, args["host"])
    limit = bounded_int(args.get("limit"), name="limit", default=DEFAULT_LIMIT, low=1,
                        high=MAX_LIMIT)
    report, facts = await asyncio.gather(collect_host(ctx.transport, target, now=ctx.clock()),
                                         vcenter_facts(ctx, target))
    return TopResult(report, assess(report, ctx.thresholds), limit, facts)


COMMAND = Command(
    alias="top {host} [limit={n}]",
    summary="VMs on a host ranked by AIO handles held, with headroom, build and fix status.",
    details=(
        "Counts vmgfx handles per VM exactly as KB 408376's `vmkvsitools lsof` pipeline does, "
        "joined to VM names through `esxcli vm process list`. `limit` (1-1000, default 20) "
        "caps the rows."
    ),
    handler=run_top,
)
