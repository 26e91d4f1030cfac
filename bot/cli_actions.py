"""What each `aio-bot` action does once its arguments are parsed. SSH (paramiko) and the
simulator are imported only by the actions that use them. `analyze` is in `bot.cli_analyze`,
which imports none of this module's dependencies: it starts fast."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from bot.config import load_config, ssh_password
from bot.console.output import print_result
from bot.console.progress import terminal_progress
from bot.errors import ConfigError
from bot.gate import Caller, GroupMembers
from bot.remediation.narrator import SayNarrator
from bot.settings_table import ConfigProblems
from commands.catalog import build_registry

CLI_USER = "cli"  # who asks, for requests proposed from the command line


async def demo(words: list[str], fmt: str) -> int:
    from bot.console.repl import console
    from bot.demo import DEMO_USER, DemoFleet

    registry = build_registry()
    async with DemoFleet() as fleet:
        ctx = fleet.services.context(Caller(DEMO_USER, "console"), progress=terminal_progress(),
                                     narrator=SayNarrator(_print_async))
        if not words:
            return await console(registry, ctx, fmt=fmt)
        return print_result(await registry.run(words, ctx), fmt)


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
        assert fleet.store is not None
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        thresholds = fleet.services.thresholds
        outcomes = await scan_hosts(fleet.transport, list(fleet.inventory), now=now)
        reports = [o for o in outcomes if isinstance(o, HostReport)]
        await seed_history(fleet.store, snapshots_of(reports, now), period, thresholds, now)
        result = await build_summary(fleet.store, thresholds, period, now, simulated=True)
        out.write_bytes(result.chart.png)
        status = print_result(result, fmt)
    print(f"Chart written to {out.resolve()} (SIMULATED history before the current scan of "
          "the demo fleet).", file=sys.stderr if fmt == "json" else sys.stdout)
    return status


async def _print_async(text: str) -> None:
    print(text, flush=True)


async def run(words: list[str], fmt: str) -> int:
    """One command on the configured bot, as the local operator (`as <user>` allowed)."""
    from bot.services import open_services

    config = load_config()
    async with open_services(config, group_members=slack_groups(os.environ),
                             store_optional=True) as services:
        ctx = services.context(Caller(CLI_USER, "cli"), progress=terminal_progress(),
                               narrator=SayNarrator(_print_async))
        return print_result(await build_registry().run(words, ctx), fmt)


def slack_groups(env: Mapping[str, str]) -> GroupMembers | None:
    """Approver user groups resolved through Slack when a bot token is at hand, so that
    `run approve 3 as U0BOB` decides as Slack would."""
    token = env.get("SLACK_BOT_TOKEN")
    if not token:
        return None
    from bot.slack.web.usergroups import UserGroups

    return UserGroups.from_token(token).members


def check_config(fmt: str) -> int:
    """Validate the configuration and the environment; every problem at once, exit 2."""
    try:
        config = load_config()
    except ConfigProblems as err:
        return _report_problems(str(err.where or "configuration"), err.problems, fmt)
    except ConfigError as err:
        return _report_problems("configuration", [str(err)], fmt)
    problems = []
    if not config.ssh.known_hosts.is_file():
        problems.append(f"known_hosts file {config.ssh.known_hosts} does not exist")
    if config.ssh.key_file is None and ssh_password() is None:
        problems.append("no SSH key_file in [ssh] and AIO_SSH_PASSWORD is not set")
    if config.ssh.key_file is not None and not config.ssh.key_file.is_file():
        problems.append(f"SSH key file {config.ssh.key_file} does not exist")
    if config.vcenter is not None and not os.environ.get("AIO_VCENTER_PASSWORD"):
        problems.append("[vcenter] is configured and AIO_VCENTER_PASSWORD is not set")
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


def _report_problems(where: str, problems: list[str], fmt: str) -> int:
    if fmt == "json":
        print(json.dumps({"config": where, "problems": problems}, indent=2))
    else:
        print(f"{where}: {len(problems)} problem(s)")
        for p in problems:
            print(f"problem: {p}")
    return 2


async def migrate(fmt: str) -> int:
    """`aio-bot migrate`: the store in `AIO_BOT_DB` (or the default file) brought up to date."""
    from bot.services import open_store_only

    async with open_store_only(migrate=True) as (store, shown):
        version = (await store.schema_status()).current
    _say(fmt, {"store": shown, "schema_version": version},
         f"{shown}: schema version {version}, up to date.")
    return 0


async def audit_verify(fmt: str) -> int:
    """`aio-bot audit verify`: the audit trail's hash chain checked; exit 1 when broken."""
    from bot.services import open_store_only

    async with open_store_only() as (store, shown):
        report = await store.verify_audit()
    _say(fmt, {"store": shown, "ok": report.ok, "rows": report.rows,
               "head": report.head, "broken_id": report.broken_id, "reason": report.reason},
         report.describe())
    return 0 if report.ok else 1


def _say(fmt: str, doc: dict[str, object], line: str) -> None:
    print(json.dumps(doc, indent=2) if fmt == "json" else line)
