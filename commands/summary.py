"""`summary [24h|7d|30d]`: what a manager reads in a minute, with a chart."""

from __future__ import annotations

from bot.esx.collect import ScanOutcome, scan_hosts
from bot.history.summary import PERIODS, SummaryResult, build_summary, parse_period
from commands import needs
from commands.context import Context
from commands.registry import Args, Command


async def run_summary(ctx: Context, args: Args) -> SummaryResult:
    try:
        period = parse_period(args.get("period"))
    except ValueError as err:
        raise COMMAND.usage(str(err)) from None
    store = needs.store(ctx)
    now = ctx.clock()

    async def scan() -> list[ScanOutcome]:
        return await scan_hosts(ctx.transport, list(ctx.inventory), concurrency=ctx.concurrency,
                                progress=ctx.progress, now=now)

    return await build_summary(store, ctx.thresholds, period, now, scan=scan)


COMMAND = Command(
    alias="summary [{period}]",
    summary="Fleet summary for 24h (default), 7d or 30d: risk, incidents, changes, chart.",
    details=(
        f"Periods: {', '.join(PERIODS)}. Hosts by risk (per cluster) from the latest stored "
        "scan, incidents in the period, remediations done, pending and failed with who "
        "approved them, hosts waiting for a reboot, and a chart of handles in use as % of "
        "the limit. With no stored history the fleet is scanned now."
    ),
    handler=run_summary,
)
