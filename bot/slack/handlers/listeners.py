"""The listeners: ack, then hand the work to `dispatch.execute` in the background. Every
listener turns what Slack sent into words and a caller (user, channel, workspace, direct
message or not): buttons run the same commands as typed words, through the same gate."""

from __future__ import annotations

import logging
import re
import shlex
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.gate import Caller
from bot.slack.handlers.dispatch import Invocation, execute
from bot.slack.handlers.home import Home
from bot.slack.handlers.modals import Modals
from bot.slack.handlers.replies import ButtonReply, Posted, Reply, SlashReply, ThreadReply
from bot.slack.runtime import Runtime
from bot.slack.views.alert import SNOOZES
from bot.slack.views.help import notice_message
from bot.slack.views.modals import MOVE_VM, POWER_OFF, Meta
from bot.slack.views.top import MOVE_VM as MOVE_VM_BUTTON
from bot.slack.web.dedupe import delivery_key
from commands.registry import Registry

log = logging.getLogger(__name__)
MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
REFRESHABLE = ("top", "check")
MAX_ID_DIGITS = 9  # request IDs in button values: bounded before they are numbers


class Listeners:
    def __init__(self, registry: Registry, runtime: Runtime) -> None:
        self.registry = registry
        self.runtime = runtime
        self.modals = Modals(registry, runtime)
        self.home = Home(registry, runtime, self.modals)

    async def slash(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        channel = str(body.get("channel_id", ""))
        caller = self._caller(body, str(body.get("user_id", "")), channel,
                              str(body.get("user_team_id") or body.get("team_id") or ""),
                              direct=_is_dm(channel, body.get("channel_name")))
        reply = SlashReply(client, channel, self.runtime.poster, str(body["response_url"]))
        self._execute(body, str(body.get("text", "")).strip(), caller, reply)

    async def refresh(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        words = _value(body)
        reply = self._button_reply(body, client)
        if words.split()[:1] and words.split()[0].lower() in REFRESHABLE:
            self._execute(body, words, self._clicker(body, reply), reply, verb="Refreshed by")
        else:
            self.runtime.spawn(reply.private(notice_message(messages.slack_not_refreshable())))

    async def propose_fix(self, ack: AsyncAck, body: dict[str, Any],
                          client: AsyncWebClient) -> None:
        """`fix <host>` as the clicker: the plan is posted as a new message in the channel."""
        await ack()
        button = self._button_reply(body, client)
        reply = SlashReply(client, button.channel, self.runtime.poster, button.response_url)
        self._execute(body, _words("fix", _value(body)), self._clicker(body, button), reply)

    async def top_vms(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """An alert's `Top VMs`: `top <host>` as the clicker, answered in the alert's thread."""
        await ack()
        button = self._button_reply(body, client)
        reply: Reply
        if button.message_ts:
            reply = ThreadReply(client, button.channel, _user(body), button.message_ts)
        else:
            reply = SlashReply(client, button.channel, self.runtime.poster, button.response_url)
        self._execute(body, _words("top", _value(body)), self._clicker(body, button), reply)

    async def open_modal(self, ack: AsyncAck, body: dict[str, Any],
                         client: AsyncWebClient) -> None:
        """A `top` message's `Move a VM…` or `Power off…`: the modal with the host's VMs, as
        the clicker, checked against the message's channel (where the proposal goes by
        default)."""
        await ack()
        button = self._button_reply(body, client)
        action = str(body["actions"][0].get("action_id", ""))
        kind = MOVE_VM if action == MOVE_VM_BUTTON else POWER_OFF
        meta = Meta(kind, host=_value(body) or None, channel=button.channel or None)

        async def tell(text: str) -> None:
            await button.private(notice_message(text))

        self.runtime.spawn(self.modals.open(client, str(body.get("trigger_id", "")),
                                            self._clicker(body, button), meta, tell))

    async def acknowledge(self, ack: AsyncAck, body: dict[str, Any],
                          client: AsyncWebClient) -> None:
        """An alert's `Acknowledge`: `acknowledge <host>` as the clicker."""
        await ack()
        self._silence(body, client, _words("acknowledge", _value(body)))

    async def snooze(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """An alert's `Snooze …`: `snooze <host> <1h|4h|resolved>` as the clicker."""
        await ack()
        span, _ = SNOOZES.get(str(body["actions"][0].get("action_id", "")), ("", ""))
        self._silence(body, client, f"{_words('snooze', _value(body))} {span}".strip())

    def _silence(self, body: dict[str, Any], client: AsyncWebClient, words: str) -> None:
        """The incident's message and thread say it; refusals and errors come privately."""
        reply = self._button_reply(body, client)
        self._execute(body, words, self._clicker(body, reply), reply, announce=False)

    async def approve(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """`approve <id> confirm` as the clicker (Slack showed the button's confirmation)."""
        await ack()
        self._decide(body, client, "approve {} confirm")

    async def reject(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        self._decide(body, client, "reject {}")

    def _decide(self, body: dict[str, Any], client: AsyncWebClient, template: str) -> None:
        reply = self._button_reply(body, client)
        value = _value(body)
        if not (value.isascii() and value.isdigit() and len(value) <= MAX_ID_DIGITS):
            self.runtime.spawn(reply.private(notice_message(messages.slack_not_refreshable())))
            return
        origin = Posted(reply.channel, reply.message_ts) if reply.message_ts else None
        self._execute(body, template.format(int(value)), self._clicker(body, reply), reply,
                      origin=origin, announce=False)

    async def mention(self, ack: AsyncAck, event: dict[str, Any], body: dict[str, Any],
                      client: AsyncWebClient) -> None:
        await ack()
        channel = str(event.get("channel", ""))
        team = str(event.get("user_team") or event.get("team") or body.get("team_id") or "")
        caller = self._caller(body, str(event.get("user", "")), channel, team,
                              direct=event.get("channel_type") == "im" or _is_dm(channel, None))
        thread_ts = str(event.get("thread_ts") or event.get("ts"))
        words = " ".join(MENTION.sub(" ", str(event.get("text", ""))).split())
        reply = ThreadReply(client, channel, caller.user, thread_ts)
        self._execute(body, words, caller, reply)

    async def ignore(self, ack: AsyncAck) -> None:
        await ack()

    def _execute(self, body: dict[str, Any], words: str, caller: Caller, reply: Reply, *,
                 verb: str = Invocation.verb, origin: Posted | None = None,
                 announce: bool = True) -> None:
        """Run `words` in the background, as `caller`, answered through `reply`; `body`'s
        delivery key lets a replica drop a delivery another one took."""
        inv = Invocation(words, caller, reply, verb=verb, delivery=delivery_key(body),
                         origin=origin, announce=announce)
        self.runtime.spawn(execute(inv, self.registry, self.runtime))

    def _caller(self, body: dict[str, Any], user: str, channel: str, team: str, *,
                direct: bool) -> Caller:
        return Caller(user, "slack", channel or None, team or None, direct)

    def _clicker(self, body: dict[str, Any], reply: ButtonReply) -> Caller:
        user = body.get("user") or {}
        team = str(user.get("team_id") or (body.get("team") or {}).get("id") or "")
        channel = body.get("channel") or {}
        return self._caller(body, str(user.get("id", "")), reply.channel, team,
                            direct=_is_dm(reply.channel, channel.get("name")))

    def _button_reply(self, body: dict[str, Any], client: AsyncWebClient) -> ButtonReply:
        container = body.get("container") or {}
        channel = str((body.get("channel") or {}).get("id") or container.get("channel_id", ""))
        ts = None if container.get("is_ephemeral") else container.get("message_ts")
        return ButtonReply(client, channel, self.runtime.poster, str(body["response_url"]),
                           str(ts) if ts else None)


def _user(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id", ""))


def _value(body: dict[str, Any]) -> str:
    return str(body["actions"][0].get("value", ""))


def _words(command: str, value: str) -> str:
    """A command with a host named by a button: quoted, so that it stays one word."""
    return f"{command} {shlex.quote(value)}"


def _is_dm(channel: str, channel_name: object) -> bool:
    """A direct message with the bot: IDs of DMs start with D (slash commands also say
    `directmessage`)."""
    return channel.startswith("D") or channel_name == "directmessage"
