"""A request's Slack message and thread: the narrator that the remediation service tells as a
change runs (progress in the request's thread, the message re-rendered on every change of
state), and the sweep that expires proposals and ends what a stopped replica left running.

Progress never stands in a change's way: the narrator only queues; one worker posts the
queue in order, each post retried a few times (429s wait at most 30 s, see
`bot.slack.web.ratelimit`) and then given up with a log line. A dropped connection, a 500 or
a rate limit delays the thread, never a step.

Approve and Reject themselves are the `approve` and `reject` commands, run through the gate
like every other command (`bot.slack.handlers.dispatch`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.remediation.plan import Plan
from bot.remediation.service import Remediation
from bot.slack.handlers.replies import Posted
from bot.slack.views.common import esc
from bot.slack.views.plan import plan_message
from bot.store.api import Request

log = logging.getLogger(__name__)
THREAD_TEXT_LIMIT = 3900


Post = Callable[[], Awaitable[None]]
POST_ATTEMPTS = 3
POST_TIMEOUT = 90.0  # seconds for one post, its own retries included


class Outbox:
    """Posts, in the order given, by one background worker; `put` returns at once."""

    def __init__(self, backoff: float = 1.0) -> None:
        self._queue: asyncio.Queue[Post] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._backoff = backoff
        self.dropped = 0

    def put(self, post: Post) -> None:
        self._queue.put_nowait(post)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work())

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until everything queued was posted or given up (tests, shutdown)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout)

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)

    async def _work(self) -> None:
        while True:
            post = await self._queue.get()
            try:
                await self._deliver(post)
            finally:
                self._queue.task_done()

    async def _deliver(self, post: Post) -> None:
        for attempt in range(1, POST_ATTEMPTS + 1):
            try:
                await asyncio.wait_for(post(), POST_TIMEOUT)
                return
            except asyncio.CancelledError:
                raise
            except Exception as err:  # never reaches a step: logged, retried, given up
                log.warning("a request post failed (%s), attempt %d of %d",
                            type(err).__name__, attempt, POST_ATTEMPTS)
                if attempt < POST_ATTEMPTS:
                    await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
        self.dropped += 1


@dataclass
class RequestMessages:
    """Where each request's message lives and how to keep it current."""

    remediation: Remediation
    client: AsyncWebClient
    outbox: Outbox = field(default_factory=Outbox)

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
        """A line in the request's thread. The text says what hosts and vCenter said (VM
        names, errors): escaped, so that none of it is read as a mention or a link."""
        if where is None:
            return
        try:
            await self.client.chat_postMessage(channel=where.channel, thread_ts=where.ts,
                                               text=esc(text)[:THREAD_TEXT_LIMIT])
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
        where = _where(request) or self.origin
        self.messages.outbox.put(lambda: self.messages.thread(where, text))

    async def changed(self, request: Request, note: str | None = None) -> None:
        origin = self.origin
        self.messages.outbox.put(lambda: self.messages.show(request, note, origin))


def _where(request: Request | None) -> Posted | None:
    if request is None or not request.channel or not request.message_ts:
        return None
    return Posted(request.channel, request.message_ts)
