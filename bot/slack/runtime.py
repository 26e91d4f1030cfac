"""What the Slack app runs on: the inventory and transport (demo fleet or configured hosts),
thresholds, who may use it, and the per-process helpers (metrics, dedupe, response_url
poster, background tasks)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.assess import Thresholds
from bot.config import SlackAccess
from bot.esx.collect import Progress
from bot.esx.transport import Transport
from bot.history.schedule import Scheduler
from bot.history.settings import HistorySettings
from bot.inventory import Inventory
from bot.remediation.service import Remediation
from bot.slack.approvals import Approvals
from bot.slack.dedupe import SeenKeys
from bot.slack.metrics import Metrics
from bot.slack.poster import ResponsePoster
from bot.store.api import Store
from bot.vsphere.api import VCenter
from commands.context import Context

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    inventory: Inventory
    transport: Transport
    thresholds: Thresholds = field(default_factory=Thresholds)
    access: SlackAccess = field(default_factory=SlackAccess)
    concurrency: int = 32
    progress_interval: float = 3.0  # seconds between two progress edits of a scan message
    metrics: Metrics = field(default_factory=Metrics)
    seen: SeenKeys = field(default_factory=SeenKeys)
    poster: ResponsePoster = field(default_factory=ResponsePoster)
    vcenter: VCenter | None = None
    remediation: Remediation | None = None
    approvals: Approvals | None = None  # set by build_app (it needs the Web API client)
    sweep_interval: float = 60.0  # seconds between two expiry sweeps of proposed requests
    history: HistorySettings = field(default_factory=HistorySettings)  # [history]
    store: Store | None = None  # the history's store when there is no remediation service
    scheduler: Scheduler | None = None  # background scans and digests (start_scheduler)
    clock: Callable[[], datetime] = _utcnow  # "now" for commands, App Home and the scheduler
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, repr=False)
    _scheduler_task: asyncio.Task[None] | None = field(default=None, repr=False)

    def context(self, caller: str, progress: Progress | None = None,
                channel: str | None = None) -> Context:
        return Context(self.inventory, self.transport, self.thresholds, caller=caller,
                       concurrency=self.concurrency, progress=progress, vcenter=self.vcenter,
                       remediation=self.remediation, channel=channel, clock=self.clock,
                       store=self.history_store)

    @property
    def history_store(self) -> Store | None:
        """Where snapshots, incidents and job firings live: the remediation service's store,
        else `store`."""
        if self.remediation is not None:
            return self.remediation.store
        return self.store

    async def first_delivery(self, key: str | None) -> bool:
        """Whether no other replica took this Slack delivery (this one's own repeats are
        dropped before the ack, by `seen`). Without a store, or when it fails: True (a
        repeated read-only answer is better than a lost command; changes are run once by
        the store's compare-and-set anyway)."""
        store = self.history_store
        if key is None or store is None:
            return True
        try:
            first = await store.first_delivery(key, now=self.clock(),
                                               keep=timedelta(seconds=self.seen.ttl))
        except Exception as err:  # the command goes on; the log says why
            log.warning("could not record a Slack delivery (%s): running it anyway",
                        type(err).__name__)
            return True
        if not first:
            self.metrics.duplicates += 1
            log.info("dropped a delivery another replica took (%s)", key.split(":")[0])
        return first

    def spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run `work` in the background, holding a reference until it ends."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for the background work (for tests and a clean shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    def start_sweeper(self) -> None:
        """Expire proposed requests past their time and say so on their messages."""
        if self.approvals is not None:
            self.spawn(self._sweep(self.approvals))

    async def _sweep(self, approvals: Approvals) -> None:
        while True:
            try:
                await approvals.sweep()
            except Exception:  # a store hiccup must not end the sweeper
                log.exception("expiry sweep failed")
            await asyncio.sleep(self.sweep_interval)

    def start_scheduler(self, scheduler: Scheduler) -> None:
        """Run the scheduler's jobs in the background until `close` (not one of the tasks
        `drain` waits for: it never ends by itself)."""
        self.scheduler = scheduler
        self._scheduler_task = asyncio.get_running_loop().create_task(scheduler.run())
        self._scheduler_task.add_done_callback(self._done)

    async def stop_scheduler(self) -> None:
        task, self._scheduler_task = self._scheduler_task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task}, timeout=5.0)

    async def close(self) -> None:
        await self.stop_scheduler()
        for task in list(self._tasks):
            task.cancel()
        await self.drain(1.0)
        await self.poster.close()
