"""One `/aio` (or `@aio-bot`) invocation after its ack: check access, match the words, run the
command, render, post. Every error ends as one friendly sentence to the caller."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from bot import messages
from bot.console.output import emit
from bot.errors import AioBotError, HostError
from bot.slack.access import may_use
from bot.slack.progress import ScanProgress
from bot.slack.replies import Reply
from bot.slack.runtime import Runtime
from bot.slack.views.check import check_message
from bot.slack.views.common import Message
from bot.slack.views.help import error_message, help_message, notice_message, plain_message
from bot.slack.views.plan import plan_message
from bot.slack.views.scan import progress_message, scan_message
from bot.slack.views.summary import summary_message
from bot.slack.views.top import top_message
from commands.approve import request_id
from commands.params import hosts_in_scope
from commands.registry import Args, Command, CommandUsageError, Registry
from commands.results import (
    CheckResult,
    HelpResult,
    PlanResult,
    Result,
    ScanResult,
    SummaryResult,
    TopResult,
)

log = logging.getLogger(__name__)
# Commands that change hosts need the remediation service (a store, vCenter, approvers).
CHANGE_COMMANDS = frozenset({"fix", "migrate", "raise-limit", "reboot", "power-off", "approve",
                             "reject"})


@dataclass
class Invocation:
    words: str
    user_id: str
    channel_id: str | None
    reply: Reply
    verb: str = "Asked by"  # "Refreshed by" for the Refresh button
    delivery: str | None = None  # the event or trigger ID (bot.slack.dedupe.delivery_key)


async def execute(inv: Invocation, registry: Registry, runtime: Runtime) -> None:
    """Run `inv` to the end; never raises (a failure is reported to the caller and logged)."""
    name, outcome = "unknown", "error"
    command: Command | None = None
    try:
        if not await runtime.first_delivery(inv.delivery):
            name, outcome = "duplicate", "duplicate"  # another replica has it
            return
        if not may_use(runtime.access, inv.user_id, inv.channel_id):
            name, outcome = "refused", "refused"
            await inv.reply.private(notice_message(messages.slack_refused()))
            return
        command, args = registry.match(inv.words or "help")
        name = command.name
        outcome = await _run(command, args, inv, runtime)
    except CommandUsageError as err:
        outcome = "usage"
        await _tell(inv, error_message(err.problem, err.command))
    except HostError as err:
        outcome = "host_error"
        runtime.metrics.ssh_error(name)
        await _tell(inv, error_message(str(err), command))
    except AioBotError as err:
        outcome = "usage" if err.exit_status == 2 else "failed"
        await _tell(inv, error_message(str(err), command))
    except Exception:
        log.exception("`%s` failed after ack", name)
        await _tell(inv, error_message(messages.slack_failed(name), command))
    finally:
        runtime.metrics.command(name, outcome)


async def _tell(inv: Invocation, message: Message) -> None:
    try:
        await inv.reply.private(message)
    except Exception:
        log.exception("could not tell the caller about a failure")


async def _run(command: Command, args: Args, inv: Invocation, runtime: Runtime) -> str:
    if command.name in CHANGE_COMMANDS and runtime.approvals is None:
        await inv.reply.private(notice_message(messages.slack_no_changes()))
        return "not_configured"
    if command.name == "scan":
        return await _scan(command, args, inv, runtime)
    if command.name in ("approve", "reject"):
        return await _decide(command, args, inv, runtime)
    result = await command.handler(runtime.context(inv.user_id, channel=inv.channel_id), args)
    if isinstance(result, PlanResult):
        await _post_plan(result, inv, runtime)
    else:
        await deliver(result, inv)
    return "ok"


async def _post_plan(result: PlanResult, inv: Invocation, runtime: Runtime) -> None:
    """The plan in the channel; its message is where approvals and progress go."""
    posted = await inv.reply.public(plan_message(result.request, result.plan))
    if posted is not None and runtime.remediation is not None:
        await runtime.remediation.store.set_message(result.request.id, posted.channel,
                                                    posted.ts)


async def _decide(command: Command, args: Args, inv: Invocation, runtime: Runtime) -> str:
    if args.get("word") is not None:
        raise command.usage("In Slack, approve or reject as yourself: "
                            f"`{command.name} <id>`, or use the buttons.")
    assert runtime.approvals is not None
    decide = runtime.approvals.approve if command.name == "approve" else runtime.approvals.reject
    await decide(request_id(args), inv.user_id, inv.reply)
    return "ok"


async def deliver(result: Result, inv: Invocation) -> None:
    if isinstance(result, HelpResult):
        message = help_message(slack_help(result))
        await (inv.reply.private(message) if inv.reply.help_is_private
               else inv.reply.public(message))
    elif isinstance(result, TopResult):
        await inv.reply.public(top_message(result, inv.user_id, inv.words, inv.verb))
    elif isinstance(result, CheckResult):
        await inv.reply.public(check_message(result, inv.user_id, inv.words, inv.verb))
    elif isinstance(result, ScanResult):
        await inv.reply.public(scan_message(result, 0.0, inv.user_id, inv.words))
    elif isinstance(result, SummaryResult):  # the chart goes to the message's thread
        await inv.reply.public(summary_message(result, inv.user_id, inv.words))
    else:  # results without a Block Kit view yet (audit): the console's text
        await inv.reply.public(plain_message(emit(result, "table"), inv.user_id, inv.words))


def slack_help(result: HelpResult) -> HelpResult:
    """The commands Slack runs (all of them; change commands explain when not set up)."""
    return result


async def _scan(command: Command, args: Args, inv: Invocation, runtime: Runtime) -> str:
    scope, hosts = hosts_in_scope(runtime.context(inv.user_id), args.get("scope"))

    def render(done: int, total: int, failed: int) -> Message:
        return progress_message(scope, done, total, failed, inv.user_id, inv.words)

    posted = await inv.reply.public(render(0, len(hosts), 0))
    progress = ScanProgress(inv.reply, posted, render, runtime.progress_interval)
    started = time.monotonic()
    try:
        result = await command.handler(runtime.context(inv.user_id, progress), args)
    finally:
        await progress.finish()
    seconds = time.monotonic() - started
    runtime.metrics.scan.observe(seconds)
    assert isinstance(result, ScanResult)
    if result.failures:
        runtime.metrics.ssh_error("scan", len(result.failures))
    final = scan_message(result, seconds, inv.user_id, inv.words)
    await (inv.reply.update(posted, final) if posted else inv.reply.public(final))
    return "partial" if result.failures else "ok"
