"""`scan [cluster|all]`: every host ranked by the share of its runtime limit in use."""

from __future__ import annotations

from bot.assess import assess
from bot.esx.collect import HostFailure, scan_hosts
from bot.esx.report import HostReport
from commands.context import Context
from commands.params import hosts_in_scope
from commands.registry import Args, Command
from commands.results import ScanResult, ScanRow


async def run_scan(ctx: Context, args: Args) -> ScanResult:
    scope, hosts = hosts_in_scope(ctx, args.get("scope"))
    if ctx.scanner is not None:  # replicas on PostgreSQL: every replica reads its share
        outcomes = await ctx.scanner.scan(hosts, progress=ctx.progress, now=ctx.clock())
    else:
        outcomes = await scan_hosts(ctx.transport, hosts, concurrency=ctx.concurrency,
                                    progress=ctx.progress, now=ctx.clock())
    rows = [ScanRow(o, assess(o, ctx.thresholds)) for o in outcomes if isinstance(o, HostReport)]
    rows.sort(key=lambda r: (-r.report.percent_used, r.report.host))
    failures = [o for o in outcomes if isinstance(o, HostFailure)]
    return ScanResult(scope, rows, failures)


COMMAND = Command(
    alias="scan [{scope}]",
    summary="All hosts (or one cluster) ranked by % of the AIO handle limit in use.",
    details="Hosts are scanned in parallel; a host that cannot be reached is listed apart.",
    handler=run_scan,
    streams_progress=True,
)
