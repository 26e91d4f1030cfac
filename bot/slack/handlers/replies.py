"""Where a command's answers go: a slash command's channel and response_url, a mention's
thread, or the message a button sat on."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.views.common import Attachment, Message
from bot.slack.web.poster import ResponsePoster

log = logging.getLogger(__name__)
# chat.postMessage errors after which the response_url can still post in the channel
NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found"})


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str


class Reply(Protocol):
    help_is_private: bool

    async def public(self, message: Message) -> Posted | None:
        """Post for everyone; the message's (channel, ts) when it can be edited later."""
        ...

    async def update(self, posted: Posted, message: Message) -> None:
        """Edit a posted message (and share its attachment in the thread)."""
        ...

    async def private(self, message: Message) -> None:
        """Show to the caller only."""
        ...


@dataclass
class _ClientReply:
    client: AsyncWebClient
    channel: str

    async def update(self, posted: Posted, message: Message) -> None:
        await self.client.chat_update(channel=posted.channel, ts=posted.ts, **message.body())
        if message.attachment is not None:
            await attach(self.client, posted, message.attachment)

    async def _post(self, message: Message, thread_ts: str | None = None) -> Posted:
        answer = await self.client.chat_postMessage(channel=self.channel, thread_ts=thread_ts,
                                                    **message.body())
        posted = Posted(str(answer["channel"]), str(answer["ts"]))
        if message.attachment is not None:
            await attach(self.client, posted, message.attachment)
        return posted


@dataclass
class SlashReply(_ClientReply):
    """Results in the channel (chat.postMessage); help and errors through the response_url."""

    poster: ResponsePoster
    response_url: str
    help_is_private: bool = True

    async def public(self, message: Message) -> Posted | None:
        try:
            return await self._post(message)
        except SlackApiError as err:
            if err.response.get("error") not in NOT_A_MEMBER:
                raise
        log.info("not a member of %s; answering through the response_url", self.channel)
        await self.poster.post(self.response_url, {"response_type": "in_channel",
                                                   **message.body()})
        return None

    async def private(self, message: Message) -> None:
        await self.poster.post(self.response_url, {"response_type": "ephemeral",
                                                   **message.body()})


@dataclass
class ThreadReply(_ClientReply):
    """`@aio-bot <words>`: everything in the thread; errors only to the caller."""

    user_id: str
    thread_ts: str
    help_is_private: bool = False

    async def public(self, message: Message) -> Posted | None:
        return await self._post(message, self.thread_ts)

    async def private(self, message: Message) -> None:
        await self.client.chat_postEphemeral(channel=self.channel, user=self.user_id,
                                             thread_ts=self.thread_ts, **message.body())


@dataclass
class ButtonReply(_ClientReply):
    """A button's answer: replaces the message it sat on; errors only to the clicker."""

    poster: ResponsePoster
    response_url: str
    message_ts: str | None
    help_is_private: bool = True

    async def public(self, message: Message) -> Posted | None:
        await self.poster.post(self.response_url, {"replace_original": True, **message.body()})
        if self.message_ts is None:
            return None
        posted = Posted(self.channel, self.message_ts)
        if message.attachment is not None:
            await attach(self.client, posted, message.attachment)
        return posted

    async def private(self, message: Message) -> None:
        await self.poster.post(self.response_url, {"response_type": "ephemeral",
                                                   "replace_original": False, **message.body()})


async def attach(client: AsyncWebClient, posted: Posted, attachment: Attachment) -> None:
    """Share a file in the message's thread (files v2)."""
    await client.files_upload_v2(
        channel=posted.channel, thread_ts=posted.ts, content=attachment.payload,
        filename=attachment.filename, title=attachment.title,
        initial_comment=attachment.comment)
