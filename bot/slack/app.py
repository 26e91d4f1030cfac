"""The Bolt AsyncApp: `/aio`, `@aio-bot`, the buttons, App Home. Every listener acks at once
and leaves the work to a background task."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.ack_first import acking
from bot.slack.handlers import listeners
from bot.slack.handlers.approvals import RequestMessages
from bot.slack.runtime import Runtime
from bot.slack.views import home, modals
from bot.slack.views.alert import ACKNOWLEDGE, SNOOZES, TOP_VMS
from bot.slack.views.plan import APPROVE, REJECT
from bot.slack.views.top import MOVE_VM, POWER_OFF, PROPOSE_FIX, REFRESH
from bot.slack.web.dedupe import delivery_key
from bot.slack.web.usergroups import UserGroups
from commands.registry import Registry

log = logging.getLogger(__name__)
SLASH_COMMAND = "/aio"


def build_app(*, client: AsyncWebClient, signing_secret: str, registry: Registry,
              runtime: Runtime) -> AsyncApp:
    """The app, on whatever `runtime` holds (demo fleet or configured inventory)."""
    bolt_log = logging.getLogger("bot.slack.bolt")
    bolt_log.addFilter(_unused_token_notice)
    # Every listener acks and hands its work to `runtime.spawn`, so it returns at once: Bolt
    # can answer when it returns. With process_before_response=False Bolt would run it in a
    # task and poll for the ack every 10 ms, which costs every slash command 10 ms or more.
    app = AsyncApp(client=client, signing_secret=signing_secret,
                   process_before_response=True, logger=bolt_log)
    app.middleware(_acks_first)
    app.middleware(_dedupe(runtime))
    on = listeners.Listeners(registry, runtime)
    app.command(SLASH_COMMAND)(on.slash)
    app.action(REFRESH)(on.refresh)
    app.action(PROPOSE_FIX)(on.propose_fix)
    app.action(TOP_VMS)(on.top_vms)
    app.action(ACKNOWLEDGE)(on.acknowledge)
    for snooze in SNOOZES:
        app.action(snooze)(on.snooze)
    app.action(APPROVE)(on.approve)
    app.action(REJECT)(on.reject)
    _modals_and_home(app, on)
    runtime.client = client
    runtime.gate.group_members = UserGroups(client).members
    if runtime.remediation is not None:
        runtime.requests = RequestMessages(runtime.remediation, client)
    app.event("app_mention")(on.mention)
    app.event("app_home_opened")(on.home.opened)
    app.event("message")(on.ignore)
    app.error(_on_error)
    return app


def _modals_and_home(app: AsyncApp, on: listeners.Listeners) -> None:
    """The modals (opened from a `top` message, App Home or the global shortcut), their
    searches, picks and submissions, and App Home's buttons."""
    for opener in (MOVE_VM, POWER_OFF):
        app.action(opener)(on.open_modal)
    app.shortcut(modals.MOVE_VM)(on.modals.shortcut)
    for picker in modals.PICKERS:
        app.options(picker)(on.modals.options)
        app.action(picker)(on.modals.picked)
    for kind in modals.KINDS:
        app.view(kind)(on.modals.submit)
    for other in (modals.TARGET, modals.CHANNEL, modals.MODE, modals.HARD_OK):
        app.action(other)(on.ignore)  # a choice inside a modal: read at submission
    app.action(home.HOME_SCAN)(on.home.scan)
    app.action(home.HOME_SUMMARY)(on.home.summary)
    app.action(re.compile(f"^{home.HOME_TOP}_\\d+$"))(on.home.top)
    app.action(re.compile(f"^{home.HOME_FIX}_\\d+$"))(on.home.fix)


Next = Callable[[], Awaitable[None]]
Middleware = Callable[[dict[str, Any], BoltResponse, Next], Awaitable[BoltResponse | None]]


async def _acks_first(resp: BoltResponse, next: Next) -> BoltResponse:
    """Socket Mode's requests, like HTTP's (`bot.slack.web.server`), are marked until acked:
    replies being built wait for them (`bot.ack_first`)."""
    with acking():
        await next()
    return resp


def _dedupe(runtime: Runtime) -> Middleware:
    """Answer a repeated delivery (same event_id or trigger_id) with 200 and do nothing."""

    async def dedupe(body: dict[str, Any], resp: BoltResponse, next: Next) -> BoltResponse | None:
        key = delivery_key(body)
        if key is not None and not runtime.seen.first_time(key):
            runtime.metrics.duplicates += 1
            log.info("dropped a repeated delivery (%s)", key.split(":")[0])
            return BoltResponse(status=200, body="")
        await next()
        return resp

    return dedupe


def _unused_token_notice(record: logging.LogRecord) -> bool:
    """Bolt warns that SLACK_BOT_TOKEN is unused when given a client: it is the client's."""
    return "`token` will be unused" not in record.getMessage()


async def _on_error(error: Exception, body: dict[str, Any]) -> None:
    log.error("listener failed (%s)", type(error).__name__, exc_info=error)
