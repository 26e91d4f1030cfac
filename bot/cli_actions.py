"""What each `aio-bot` action does once its arguments are parsed. SSH (paramiko) and the
simulator are imported only by the actions that use them. `analyze` is in `bot.cli_analyze`,
which imports none of this module's dependencies: it starts fast."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bot.config import load_config, ssh_password
from bot.console.output import print_result
from bot.console.progress import terminal_progress
from bot.esx.collect import scan_concurrency
from commands.catalog import build_registry
from commands.context import Context


async def demo(words: list[str], fmt: str) -> int:
    from bot.console.repl import console
    from bot.demo import DemoFleet

    registry = build_registry()
    async with DemoFleet() as fleet:
        ctx = fleet.context(progress=terminal_progress(), say=_print_async,
                            may_act_as_others=True)
        if not words:
            return await console(registry, ctx, fmt=fmt)
        return print_result(await registry.run(" ".join(words), ctx), fmt)


async def demo_summary(words: list[str], fmt: str, out: Path) -> int:
    """`aio-bot demo summary [24h|7d|30d] [--out PATH]`: scan the demo fleet, synthesise a
    plausible history before it (clearly labelled as simulated), summarise, write the chart."""
    from datetime import UTC, datetime

    from bot.demo import DemoFleet
    from bot.errors import UsageError
    from bot.esx.collect import scan_hosts
    from bot.esx.report import HostReport
    from bot.history.seed import seed_history
    from bot.history.snapshot import snapshots_of
    from bot.history.summary import build_summary, parse_period

    if len(words) > 1:
        raise UsageError("Usage: aio-bot demo summary [24h|7d|30d] [--out PATH]")
    try:
        period = parse_period(words[0] if words else None)
    except ValueError as err:
        raise UsageError(str(err)) from None
    async with DemoFleet() as fleet:
        assert fleet.store is not None and fleet.transport is not None
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        ctx = fleet.context(clock=lambda: now)
        outcomes = await scan_hosts(fleet.transport, list(fleet.inventory), now=now)
        reports = [o for o in outcomes if isinstance(o, HostReport)]
        await seed_history(fleet.store, snapshots_of(reports, now), period, ctx.thresholds, now)
        result = await build_summary(fleet.store, ctx.thresholds, period, now, simulated=True)
        out.write_bytes(result.chart.png)
        status = print_result(result, fmt)
    print(f"Chart written to {out.resolve()} (SIMULATED history before the current scan of "
          "the demo fleet).", file=sys.stderr if fmt == "json" else sys.stdout)
    return status


async def _print_async(text: str) -> None:
    print(text, flush=True)


async def run(words: list[str], fmt: str) -> int:
    from bot.esx.ssh import SshSettings, SshTransport

    config = load_config()
    settings = SshSettings(
        known_hosts=config.ssh.known_hosts,
        password=ssh_password(),
        key_file=config.ssh.key_file,
        connect_timeout=config.ssh.connect_timeout,
        command_timeout=config.ssh.command_timeout,
        max_parallel=config.ssh.max_parallel,
    )
    transport = SshTransport(settings)
    try:
        ctx = Context(config.inventory, transport, config.thresholds, caller="cli",
                      concurrency=scan_concurrency(config.ssh.max_parallel),
                      progress=terminal_progress())
        return print_result(await build_registry().run(" ".join(words), ctx), fmt)
    finally:
        await transport.close()


def check_config(fmt: str) -> int:
    config = load_config()
    problems = []
    if not config.ssh.known_hosts.is_file():
        problems.append(f"known_hosts file {config.ssh.known_hosts} does not exist")
    if config.ssh.key_file is None and ssh_password() is None:
        problems.append("no SSH key_file in [ssh] and AIO_SSH_PASSWORD is not set")
    if config.ssh.key_file is not None and not config.ssh.key_file.is_file():
        problems.append(f"SSH key file {config.ssh.key_file} does not exist")
    summary = {
        "config": str(config.path),
        "hosts": len(config.inventory),
        "clusters": config.inventory.clusters(),
        "problems": problems,
    }
    if fmt == "json":
        print(json.dumps(summary, indent=2))
    else:
        print(f"{Path(str(config.path))}: {len(config.inventory)} host(s) in "
              f"{len(config.inventory.clusters())} cluster(s)")
        for p in problems:
            print(f"problem: {p}")
        if not problems:
            print("configuration OK")
    return 2 if problems else 0
