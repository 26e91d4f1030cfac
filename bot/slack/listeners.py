"""The listeners: ack, then hand the work to `dispatch.execute` in the background."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.history.glance import fleet_at_a_glance
from bot.slack.dedupe import delivery_key
from bot.slack.dispatch import Invocation, execute, slack_help
from bot.slack.replies import ButtonReply, Posted, Reply, SlashReply, ThreadReply
from bot.slack.runtime import Runtime
from bot.slack.views.help import notice_message
from bot.slack.views.home import home_view
from commands.registry import Registry
from commands.results import HelpResult

log = logging.getLogger(__name__)
MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
REFRESHABLE = ("top", "check")


class Listeners:
    def __init__(self, registry: Registry, runtime: Runtime) -> None:
        self.registry = registry
        self.runtime = runtime

    async def slash(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        channel, user = str(body.get("channel_id", "")), str(body.get("user_id", ""))
        reply = SlashReply(client, channel, self.runtime.poster, str(body["response_url"]))
        self._execute(body, str(body.get("text", "")).strip(), user, channel, reply)

    async def refresh(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        words = str(body["actions"][0].get("value", ""))
        reply = self._button_reply(body, client)
        if words.split()[:1] and words.split()[0].lower() in REFRESHABLE:
            self._execute(body, words, _user(body), reply.channel, reply, verb="Refreshed by")
        else:
            self.runtime.spawn(reply.private(notice_message(messages.slack_not_refreshable())))

    async def propose_fix(self, ack: AsyncAck, body: dict[str, Any],
                          client: AsyncWebClient) -> None:
        """`fix <host>` as the clicker: the plan is posted as a new message in the channel."""
        await ack()
        host = str(body["actions"][0].get("value", ""))
        button = self._button_reply(body, client)
        reply = SlashReply(client, button.channel, self.runtime.poster, button.response_url)
        self._execute(body, f"fix {host}", _user(body), button.channel, reply)

    async def top_vms(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """An alert's `Top VMs`: `top <host>` as the clicker, answered in the alert's thread."""
        await ack()
        host = str(body["actions"][0].get("value", ""))
        button = self._button_reply(body, client)
        reply: Reply
        if button.message_ts:
            reply = ThreadReply(client, button.channel, _user(body), button.message_ts)
        else:
            reply = SlashReply(client, button.channel, self.runtime.poster, button.response_url)
        self._execute(body, f"top {host}", _user(body), button.channel, reply)

    async def approve(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        self._decide(body, client, approve=True)

    async def reject(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        self._decide(body, client, approve=False)

    def _decide(self, body: dict[str, Any], client: AsyncWebClient, *, approve: bool) -> None:
        reply = self._button_reply(body, client)
        approvals = self.runtime.approvals
        value = str(body["actions"][0].get("value", ""))
        if approvals is None or not value.isdigit():
            self.runtime.spawn(reply.private(notice_message(messages.slack_no_changes())))
            return
        decide = approvals.approve if approve else approvals.reject
        origin = Posted(reply.channel, reply.message_ts) if reply.message_ts else None
        self.runtime.spawn(decide(int(value), _user(body), reply, origin))

    async def mention(self, ack: AsyncAck, event: dict[str, Any], body: dict[str, Any],
                      client: AsyncWebClient) -> None:
        await ack()
        channel, user = str(event.get("channel", "")), str(event.get("user", ""))
        thread_ts = str(event.get("thread_ts") or event.get("ts"))
        words = " ".join(MENTION.sub(" ", str(event.get("text", ""))).split())
        reply = ThreadReply(client, channel, user, thread_ts)
        self._execute(body, words, user, channel, reply)

    async def home_opened(self, ack: AsyncAck, event: dict[str, Any],
                          client: AsyncWebClient) -> None:
        await ack()
        if event.get("tab", "home") != "home":
            return
        self.runtime.spawn(self._publish_home(client, str(event.get("user", ""))))

    async def _publish_home(self, client: AsyncWebClient, user_id: str) -> None:
        """The fleet at a glance from the store (never a scan), then the commands."""
        commands = slack_help(HelpResult([c.help_entry() for c in self.registry]))
        store = self.runtime.history_store
        glance = None
        if store is not None:
            glance = await fleet_at_a_glance(store, self.runtime.clock(), self.runtime.thresholds)
        await client.views_publish(user_id=user_id, view=home_view(glance, commands))

    async def ignore(self, ack: AsyncAck) -> None:
        await ack()

    def _execute(self, body: dict[str, Any], words: str, user: str, channel: str, reply: Reply,
                 verb: str = Invocation.verb) -> None:
        """Run `words` in the background, as `user`, answered through `reply`; `body`'s
        delivery key lets a replica drop a delivery another one took."""
        inv = Invocation(words, user, channel, reply, verb=verb, delivery=delivery_key(body))
        self.runtime.spawn(execute(inv, self.registry, self.runtime))

    def _button_reply(self, body: dict[str, Any], client: AsyncWebClient) -> ButtonReply:
        container = body.get("container") or {}
        channel = str((body.get("channel") or {}).get("id") or container.get("channel_id", ""))
        ts = None if container.get("is_ephemeral") else container.get("message_ts")
        return ButtonReply(client, channel, self.runtime.poster, str(body["response_url"]),
                           str(ts) if ts else None)


def _user(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id", ""))


