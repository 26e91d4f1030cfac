"""A request's Slack message and thread: the narrator that the remediation service tells as a
change runs (progress in the request's thread, the message re-rendered on every change of
state), and the sweep that expires proposals and ends what a stopped replica left running.

Approve and Reject themselves are the `approve` and `reject` commands, run through the gate
like every other command (`bot.slack.handlers.dispatch`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.remediation.plan import Plan
from bot.remediation.service import Remediation
from bot.slack.handlers.replies import Posted
from bot.slack.views.plan import plan_message
from bot.store.api import Request

log = logging.getLogger(__name__)
THREAD_TEXT_LIMIT = 3900


@dataclass
class RequestMessages:
    """Where each request's message lives and how to keep it current."""

    remediation: Remediation
    client: AsyncWebClient

    def narrator(self, origin: Posted | None = None) -> SlackNarrator:
        """`origin`: the message a button sat on, for a click that beat the store's record
        of where the plan was posted."""
        return SlackNarrator(self, origin)

    async def show(self, request: Request, note: str | None = None,
                   where: Posted | None = None) -> None:
        """Re-render the request's message from the store's record."""
        where = _where(request) or where
        if where is None:
            return
        message = plan_message(request, Plan.from_json(request.params["plan"]), note)
        try:
            await self.client.chat_update(channel=where.channel, ts=where.ts, **message.body())
        except SlackApiError as err:
            log.warning("could not update request #%d's message: %s", request.id,
                        err.response.get("error"))

    async def thread(self, where: Posted | None, text: str) -> None:
        if where is None:
            return
        try:
            await self.client.chat_postMessage(channel=where.channel, thread_ts=where.ts,
                                               text=text[:THREAD_TEXT_LIMIT])
        except SlackApiError as err:
            log.warning("could not post in the request's thread: %s",
                        err.response.get("error"))

    async def sweep(self) -> int:
        """Expire what is due, end what a stopped bot process left running, and say so on
        each request's message (and in its thread for the interrupted ones)."""
        expired = await self.remediation.expire_due()
        interrupted = await self.remediation.recover_interrupted()
        for request in expired + interrupted:
            await self.show(request)
        for request in interrupted:
            await self.thread(_where(request), f"Failed: {request.outcome}")
        return len(expired) + len(interrupted)


@dataclass
class SlackNarrator:
    """Progress lines in the request's thread; its message re-rendered when it changes."""

    messages: RequestMessages
    origin: Posted | None = None

    async def progress(self, request: Request, text: str) -> None:
        await self.messages.thread(_where(request) or self.origin, text)

    async def changed(self, request: Request, note: str | None = None) -> None:
        await self.messages.show(request, note, self.origin)


def _where(request: Request | None) -> Posted | None:
    if request is None or not request.channel or not request.message_ts:
        return None
    return Posted(request.channel, request.message_ts)
