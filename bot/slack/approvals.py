"""Approve and Reject, from a button or from `/aio approve <id>`: the remediation service
decides (approvers only, not the requester, once); this posts progress and the outcome in the
request's thread and keeps its message up to date."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.remediation.plan import Plan
from bot.remediation.service import Remediation, RequestRefused
from bot.slack.replies import Posted, Reply
from bot.slack.views.help import notice_message
from bot.slack.views.plan import plan_message
from bot.store.api import Request, State

log = logging.getLogger(__name__)


class Approvals:
    def __init__(self, remediation: Remediation, client: AsyncWebClient) -> None:
        self.remediation = remediation
        self.client = client

    async def approve(self, request_id: int, user: str, reply: Reply,
                      origin: Posted | None = None) -> None:
        """`origin`: the message the button sat on, for a click that beat the store's record
        of where the plan was posted."""
        request = await self.remediation.store.get(request_id)
        where = _where(request) or origin

        async def say(text: str) -> None:
            await self._thread(where, text)

        async def started(running: Request) -> None:
            await self.show(running, note="Working on it; progress in the thread.", where=where)

        try:
            outcome = await self.remediation.approve(request_id, user, say, on_start=started)
        except RequestRefused as err:
            await reply.private(notice_message(str(err)))
            await self._refresh(request_id)
            return
        await self.show(outcome.request, where=where)
        await self._thread(where, ("Done: " if outcome.ok else "Failed: ") + outcome.summary)

    async def reject(self, request_id: int, user: str, reply: Reply,
                     origin: Posted | None = None) -> None:
        try:
            request = await self.remediation.reject(request_id, user)
        except RequestRefused as err:
            await reply.private(notice_message(str(err)))
            await self._refresh(request_id)
            return
        await self.show(request, where=_where(request) or origin)

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

    async def sweep(self) -> int:
        """Expire what is due, end what a stopped bot process left running, and say so on
        each request's message (and in its thread for the interrupted ones)."""
        expired = await self.remediation.expire_due()
        interrupted = await self.remediation.recover_interrupted()
        for request in expired + interrupted:
            await self.show(request)
        for request in interrupted:
            await self._thread(_where(request), f"Failed: {request.outcome}")
        return len(expired) + len(interrupted)

    async def _refresh(self, request_id: int) -> None:
        request = await self.remediation.store.get(request_id)
        if request is not None and request.state is not State.PROPOSED:
            await self.show(request)

    async def _thread(self, where: Posted | None, text: str) -> None:
        if where is None:
            return
        try:
            await self.client.chat_postMessage(channel=where.channel, thread_ts=where.ts,
                                               text=text[:3900])
        except SlackApiError as err:
            log.warning("could not post in the request's thread: %s",
                        err.response.get("error"))


def _where(request: Request | None) -> Posted | None:
    if request is None or not request.channel or not request.message_ts:
        return None
    return Posted(request.channel, request.message_ts)
