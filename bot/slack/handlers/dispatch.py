"""One `/aio` invocation after its ack (a slash command, a mention or a button: all of them
are words run as the clicker or sender): match the words, run the command through the gate
(`commands.registry.invoke`), render, post. What a front end needs to know of a command
comes from its declaration (`Command.streams_progress`, `Command.effect`), never from its
name. Every error ends as one friendly sentence to the caller only."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from bot import logs, messages
from bot.ack_first import my_turn
from bot.console.output import emit
from bot.errors import AioBotError, HostError, VCenterError
from bot.gate import Caller, Refused
from bot.slack.handlers.alerts import show_silenced
from bot.slack.handlers.progress import ScanProgress
from bot.slack.handlers.replies import Posted, Reply
from bot.slack.runtime import Runtime
from bot.slack.views.check import check_message
from bot.slack.views.common import Message
from bot.slack.views.help import error_message, help_message, notice_message, plain_message
from bot.slack.views.inventory import inventory_message
from bot.slack.views.plan import confirm_message, plan_message
from bot.slack.views.scan import host_keys_message, progress_message, scan_message
from bot.slack.views.summary import summary_message
from bot.slack.views.top import top_message
from bot.store.api import State
from bot.store.dburl import StoreError
from commands.registry import Args, Command, CommandUsageError, Registry, invoke
from commands.results import (
    CheckResult,
    ConfirmResult,
    HelpResult,
    InventoryResult,
    OutcomeResult,
    PlanResult,
    RequestResult,
    Result,
    ScanResult,
    SilenceResult,
    SummaryResult,
    TopResult,
)

log = logging.getLogger(__name__)


@dataclass
class Invocation:
    words: str
    caller: Caller
    reply: Reply
    verb: str = "Asked by"  # "Refreshed by" for the Refresh button
    delivery: str | None = None  # the event or trigger ID (bot.slack.web.dedupe.delivery_key)
    origin: Posted | None = None  # the message a button sat on
    announce: bool = True  # say privately how a decision went (a button's message shows it)

    @property
    def user_id(self) -> str:
        return self.caller.user


async def execute(inv: Invocation, registry: Registry, runtime: Runtime) -> None:
    """Run `inv` to the end; never raises (a failure is reported to the caller and logged)."""
    name, outcome = "unknown", "error"
    command: Command | None = None
    logs.bind(request_id=inv.delivery or uuid.uuid4().hex[:12], user=inv.caller.user,
              host=None)  # this task's log lines say whose request they belong to
    try:
        await my_turn()  # a burst's acks first, then its commands (bot.ack_first)
        if not await runtime.first_delivery(inv.delivery):
            name, outcome = "duplicate", "duplicate"  # another replica has it
            return
        await runtime.learn_home_team()
        command, args = registry.match(inv.words or "help")
        name = command.name
        logs.bind(host=args.get("host"))
        outcome = await _run(command, args, inv, runtime)
    except Refused as err:
        outcome = "refused"
        await _tell(inv, notice_message(str(err)))
    except CommandUsageError as err:
        outcome = "usage"
        await _tell(inv, error_message(err.problem, err.command))
    except HostError as err:
        outcome = "host_error"
        runtime.metrics.ssh_error(name)
        await _tell(inv, error_message(str(err), command))
    except StoreError as err:  # its text names the database: the log has it, users don't
        outcome = "failed"
        log.warning("`%s`: %s", name, err)
        await _tell(inv, error_message(messages.store_unavailable(), command))
    except VCenterError as err:
        outcome = "failed"
        log.warning("`%s`: %s", name, err)
        await _tell(inv, error_message(messages.vcenter_failed(err.operation), command))
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
    narrator = runtime.requests.narrator(inv.origin) if runtime.requests else None
    if command.streams_progress:
        return await _streamed(command, args, inv, runtime)
    ctx = runtime.context(inv.caller, narrator=narrator)
    result = await invoke(command, args, ctx)
    observe(runtime, result)
    if isinstance(result, PlanResult):
        await _post_plan(result, inv, runtime)
    elif isinstance(result, SilenceResult):
        await _silenced(result, inv, runtime)
    else:
        await deliver(result, inv)
    return "ok"


def observe(runtime: Runtime, result: Result) -> None:
    """Hosts read by `top`, `check` or `scan` update this replica's per-host metrics."""
    metrics = runtime.metrics
    if isinstance(result, TopResult | CheckResult):
        metrics.hosts.observe_reports([result.report])
    elif isinstance(result, ScanResult):
        metrics.hosts.observe_reports([row.report for row in result.rows])
        metrics.host_failed(result.failures)


async def _silenced(result: SilenceResult, inv: Invocation, runtime: Runtime) -> None:
    """The incident's message shows the acknowledgement or snooze; a typed command also gets
    a private line (a button's message shows it already)."""
    shown = False
    if runtime.client is not None and runtime.history_store is not None:
        shown = await show_silenced(runtime.client, runtime.history_store, result.alert,
                                    result.sentence(), result.by, runtime.clock(),
                                    runtime.history.alert_policy)
    if inv.announce or not shown:
        await inv.reply.private(notice_message(result.sentence()))


async def _post_plan(result: PlanResult, inv: Invocation, runtime: Runtime) -> None:
    """The plan in the channel; its message is where approvals and progress go. A plan that
    cannot be posted is withdrawn: nobody could see it, so nobody should approve it."""
    try:
        posted = await inv.reply.public(plan_message(result.request, result.plan))
    except Exception as err:
        log.warning("request #%d could not be posted (%s): withdrawn", result.request.id,
                    type(err).__name__)
        if runtime.remediation is not None:
            await runtime.remediation.withdraw(result.request.id,
                                               "Its message could not be posted in Slack.")
        raise AioBotError(messages.plan_not_posted(result.request.id)) from None
    if posted is not None and runtime.remediation is not None:
        await runtime.remediation.store.set_message(result.request.id, posted.channel,
                                                    posted.ts)


async def deliver(result: Result, inv: Invocation) -> None:
    await my_turn()  # building the message can wait for Slack's acks (bot.ack_first)
    if isinstance(result, HelpResult):
        message = help_message(result)
        await (inv.reply.private(message) if inv.reply.help_is_private
               else inv.reply.public(message))
    elif isinstance(result, TopResult):
        await inv.reply.public(top_message(result, inv.user_id, inv.words, inv.verb))
    elif isinstance(result, CheckResult):
        await inv.reply.public(check_message(result, inv.user_id, inv.words, inv.verb))
    elif isinstance(result, ScanResult):
        await inv.reply.public(scan_message(result, 0.0, inv.user_id, inv.words))
        await _host_keys(result, inv)
    elif isinstance(result, InventoryResult):
        await inv.reply.public(inventory_message(result, inv.user_id, inv.words))
    elif isinstance(result, SummaryResult):  # the chart goes to the message's thread
        await inv.reply.public(summary_message(result, inv.user_id, inv.words))
    elif isinstance(result, ConfirmResult):  # the same confirmation the button has
        await inv.reply.private(confirm_message(result.request, result.plan))
    elif isinstance(result, OutcomeResult | RequestResult):
        await _decided(result, inv)
    else:  # results without a Block Kit view yet (audit): the console's text
        await inv.reply.public(plain_message(emit(result, "table"), inv.user_id, inv.words))


async def _decided(result: OutcomeResult | RequestResult, inv: Invocation) -> None:
    """The request's own message and thread already say it; a typed command gets a line."""
    if not inv.announce:
        return
    request = result.outcome.request if isinstance(result, OutcomeResult) else result.request
    state = "ended: " + request.state.value if request.state is not State.PROPOSED else "open"
    await inv.reply.private(notice_message(
        f"Request #{request.id} {state}; its message and thread have the details."))


async def _streamed(command: Command, args: Args, inv: Invocation, runtime: Runtime) -> str:
    """A command that reports progress as hosts answer: one message, edited as it goes."""
    what = " ".join(inv.words.split()[1:]) or "all"

    def render(done: int, total: int, failed: int) -> Message:
        return progress_message(what, done, total, failed, inv.user_id, inv.words)

    progress = ScanProgress(inv.reply, None, render, runtime.progress_interval,
                            post_first=True)
    started = time.monotonic()
    try:
        result = await invoke(command, args, runtime.context(inv.caller, progress))
    finally:
        await progress.finish()
    seconds = time.monotonic() - started
    observe(runtime, result)
    posted = progress.posted
    if not isinstance(result, ScanResult):
        await deliver(result, inv)
        return "ok"
    runtime.metrics.scan.observe(seconds)
    if result.failures:
        runtime.metrics.ssh_error(command.name, len(result.failures))
    final = scan_message(result, seconds, inv.user_id, inv.words)
    await (inv.reply.update(posted, final) if posted else inv.reply.public(final))
    await _host_keys(result, inv)
    return "partial" if result.failures else "ok"


async def _host_keys(result: ScanResult, inv: Invocation) -> None:
    """Host keys not on record or changed: one message with their fingerprints and the
    command to run on the bot's machine (nothing is trusted from chat)."""
    message = host_keys_message(result, inv.user_id, inv.words)
    if message is not None:
        await inv.reply.public(message)
