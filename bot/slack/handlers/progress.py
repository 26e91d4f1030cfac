"""Edits one scan message with progress as hosts answer, at most once per interval, never
two edits in flight, and never after the final result."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError

from bot.esx.collect import HostFailure, ScanOutcome
from bot.slack.handlers.replies import Posted, Reply
from bot.slack.views.common import Message

log = logging.getLogger(__name__)
Render = Callable[[int, int, int], Message]  # (done, total, failed) -> message


class ScanProgress:
    """The `progress` callback of a scan (see `commands.context.Context.progress`)."""

    def __init__(self, reply: Reply, posted: Posted | None, render: Render, interval: float,
                 clock: Callable[[], float] = time.monotonic, *, post_first: bool = False
                 ) -> None:
        """`post_first`: no message yet; the first host's answer posts it (so that a command
        refused before any host is asked leaves no progress message behind)."""
        self._reply = reply
        self._posted = posted
        self._post_first = post_first and posted is None
        self._render = render
        self._interval = interval
        self._clock = clock
        self._last = clock()
        self._pending: asyncio.Task[None] | None = None
        self.failed = 0
        self.updates = 0

    async def __call__(self, done: int, total: int, outcome: ScanOutcome) -> None:
        if isinstance(outcome, HostFailure):
            self.failed += 1
        if self._post_first:
            self._post_first = False
            message = self._render(done, total, self.failed)
            self._pending = asyncio.get_running_loop().create_task(self._open(message))
            return
        if self._posted is None or done >= total:
            return
        if self._pending is not None and not self._pending.done():
            return
        now = self._clock()
        if now - self._last < self._interval:
            return
        self._last = now
        message = self._render(done, total, self.failed)
        self._pending = asyncio.get_running_loop().create_task(self._push(self._posted, message))

    async def _push(self, posted: Posted, message: Message) -> None:
        try:
            await self._reply.update(posted, message)
            self.updates += 1
        except SlackApiError as err:
            log.warning("progress update failed: %s", err.response.get("error"))

    @property
    def posted(self) -> Posted | None:
        return self._posted

    async def _open(self, message: Message) -> None:
        try:
            self._posted = await self._reply.public(message)
            self._last = self._clock()
        except SlackApiError as err:
            log.warning("progress message failed: %s", err.response.get("error"))

    async def finish(self) -> None:
        """Wait for an edit in flight, so that it cannot land after the final message."""
        if self._pending is not None:
            await self._pending
