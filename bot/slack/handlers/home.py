"""App Home: the tab (published when opened, and again after a scan started from it) and its
buttons. Each button is the words of a command run as the clicker through the one gate
(`dispatch.execute`), as from a direct message with the bot: Scan now (`scan`), Post summary
(`summary`), and per host at risk Top VMs (`top <host>`) and Propose fix (the Propose a fix
modal, whose proposal goes to the channel picked in it). Answers go to the clicker's
messages with the bot (the App Home's Messages tab)."""

from __future__ import annotations

import logging
import shlex
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.gate import Caller
from bot.history.glance import fleet_at_a_glance
from bot.slack.handlers.dispatch import Invocation, execute
from bot.slack.handlers.modals import Modals
from bot.slack.handlers.replies import Posted
from bot.slack.runtime import Runtime
from bot.slack.views.common import Message
from bot.slack.views.help import notice_message
from bot.slack.views.home import home_view
from bot.slack.views.modals import PROPOSE_FIX, Meta
from bot.slack.web.dedupe import delivery_key
from commands.registry import Registry
from commands.results import HelpResult

log = logging.getLogger(__name__)


@dataclass
class DirectReply:
    """Everything in the clicker's direct messages with the bot."""

    client: AsyncWebClient
    user_id: str
    help_is_private: bool = True

    async def public(self, message: Message) -> Posted | None:
        answer = await self.client.chat_postMessage(channel=self.user_id, **message.body())
        return Posted(str(answer["channel"]), str(answer["ts"]))

    async def update(self, posted: Posted, message: Message) -> None:
        await self.client.chat_update(channel=posted.channel, ts=posted.ts, **message.body())

    async def private(self, message: Message) -> None:
        await self.public(message)


class Home:
    def __init__(self, registry: Registry, runtime: Runtime, modals: Modals) -> None:
        self.registry = registry
        self.runtime = runtime
        self.modals = modals

    async def opened(self, ack: AsyncAck, event: dict[str, Any],
                     client: AsyncWebClient) -> None:
        await ack()
        if event.get("tab", "home") != "home":
            return
        self.runtime.spawn(self.publish(client, str(event.get("user", ""))))

    async def publish(self, client: AsyncWebClient, user_id: str) -> None:
        """The fleet at a glance from the store (never a scan), its buttons, the commands."""
        commands = HelpResult([c.help_entry() for c in self.registry])
        store = self.runtime.history_store
        glance = None
        if store is not None:
            glance = await fleet_at_a_glance(store, self.runtime.clock(), self.runtime.thresholds)
        await client.views_publish(user_id=user_id, view=home_view(glance, commands))

    async def scan(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """`scan` as the clicker; the tab is published again when it ends."""
        await ack()
        caller = _clicker(body)
        self.runtime.spawn(self._then_publish(body, client, caller, "scan"))

    async def summary(self, ack: AsyncAck, body: dict[str, Any],
                      client: AsyncWebClient) -> None:
        await ack()
        self._run(body, client, "summary")

    async def top(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        self._run(body, client, f"top {shlex.quote(_value(body))}")

    async def fix(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """The Propose a fix modal for the host: its plan, then the channel to post it in."""
        await ack()
        caller = _clicker(body)
        meta = Meta(PROPOSE_FIX, host=_value(body) or None)

        async def tell(text: str) -> None:
            await DirectReply(client, caller.user).private(notice_message(text))

        self.runtime.spawn(self._guarded(self.modals.open(
            client, str(body.get("trigger_id", "")), caller, meta, tell)))

    def _run(self, body: dict[str, Any], client: AsyncWebClient, words: str) -> None:
        caller = _clicker(body)
        inv = Invocation(words, caller, DirectReply(client, caller.user),
                         delivery=delivery_key(body))
        self.runtime.spawn(execute(inv, self.registry, self.runtime))

    async def _then_publish(self, body: dict[str, Any], client: AsyncWebClient,
                            caller: Caller, words: str) -> None:
        inv = Invocation(words, caller, DirectReply(client, caller.user),
                         delivery=delivery_key(body))
        await execute(inv, self.registry, self.runtime)
        await self._guarded(self.publish(client, caller.user))

    async def _guarded(self, work: Any) -> None:
        try:
            await work
        except Exception:
            log.exception("App Home work failed")


def _clicker(body: dict[str, Any]) -> Caller:
    """The clicker, as in a direct message with the bot (App Home has no channel)."""
    user = body.get("user") or {}
    team = str(user.get("team_id") or (body.get("team") or {}).get("id") or "")
    return Caller(str(user.get("id", "")), "slack", None, team or None, True)


def _value(body: dict[str, Any]) -> str:
    return str((body.get("actions") or [{}])[0].get("value", ""))
