"""What the Slack app runs on: the bot's services (one assembly, `bot.services`) and the
per-process helpers of the Slack front end (metrics, dedupe, response_url poster, request
messages, background tasks)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.assess import Thresholds
from bot.config import SlackAccess
from bot.esx.collect import Progress
from bot.esx.transport import Transport
from bot.gate import Caller, Gate
from bot.health import Health
from bot.history.schedule import Scheduler
from bot.history.settings import HistorySettings
from bot.inventory import Inventory
from bot.remediation.narrator import Narrator
from bot.remediation.service import Remediation
from bot.services import Services
from bot.slack.handlers.approvals import RequestMessages
from bot.slack.metrics import Metrics
from bot.slack.web.dedupe import SeenKeys
from bot.slack.web.poster import ResponsePoster
from bot.store.api import Store
from bot.store.dburl import StoreError
from bot.vsphere.api import VCenter
from commands.context import Context

log = logging.getLogger(__name__)



@dataclass
class Runtime:
    """The Slack front end's state around the bot's services (`bot.services`): metrics,
    dedupe, the response_url poster, request messages, background tasks."""

    services: Services
    progress_interval: float = 3.0  # seconds between two progress edits of a scan message
    metrics: Metrics = field(default_factory=Metrics)
    seen: SeenKeys = field(default_factory=SeenKeys)
    poster: ResponsePoster = field(default_factory=ResponsePoster)
    requests: RequestMessages | None = None  # set by build_app (it needs the Web API client)
    client: AsyncWebClient | None = None  # the Web API client (set by build_app)
    scheduler: Scheduler | None = None  # background scans and digests (start_scheduler)
    health: Health = field(default_factory=Health)  # /healthz, /readyz (filled below)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, repr=False)
    _scheduler_task: asyncio.Task[None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        """The probes and the per-host gauges look at the services' store, vCenter and
        clock (the Socket Mode front end adds its connection, `start_scheduler` its task)."""
        self.metrics.hosts.clock = lambda: self.clock()
        health = self.health
        health.store, health.hosts = self.services.store, self.metrics.hosts
        health.vcenter, health.clock = self.services.vcenter, lambda: self.clock()

    @property
    def inventory(self) -> Inventory:
        return self.services.inventory

    @property
    def transport(self) -> Transport:
        return self.services.transport

    @property
    def thresholds(self) -> Thresholds:
        return self.services.thresholds

    @property
    def access(self) -> SlackAccess:
        return self.services.config.slack

    @property
    def gate(self) -> Gate:
        return self.services.gate

    @property
    def concurrency(self) -> int:
        return self.services.concurrency

    @property
    def vcenter(self) -> VCenter | None:
        return self.services.vcenter

    @property
    def remediation(self) -> Remediation | None:
        return self.services.remediation

    @property
    def history(self) -> HistorySettings:
        return self.services.history

    @property
    def sweep_interval(self) -> float:
        """Seconds between two sweeps of expired and interrupted requests."""
        return self.services.config.remediation.sweep_seconds

    @property
    def clock(self) -> Callable[[], datetime]:
        """"now" for commands, App Home and the scheduler (the services' clock)."""
        return self.services.clock

    @clock.setter
    def clock(self, clock: Callable[[], datetime]) -> None:
        self.services.clock = clock

    def context(self, caller: Caller, progress: Progress | None = None,
                narrator: Narrator | None = None) -> Context:
        return self.services.context(caller, progress=progress, narrator=narrator)

    @property
    def history_store(self) -> Store | None:
        """Where requests, snapshots, incidents and job firings live."""
        return self.services.store

    async def learn_home_team(self) -> None:
        """The workspace the bot is installed in, for the gate, from `auth.test` (asked
        once). Until it is known, requests from any workspace not in `allowed_teams` are
        refused: the gate fails closed."""
        if self.gate.home_team is not None or self.client is None:
            return
        try:
            answer = await self.client.auth_test()
        except Exception as err:
            log.warning("auth.test failed (%s): the workspace is not known yet",
                        type(err).__name__)
            return
        team = answer.get("team_id")
        if isinstance(team, str) and team:
            self.gate.home_team = team

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
        """Wait for the background work and the request posts it queued (for tests and a
        clean shutdown), and the work that work started (a slash command's Bolt run starts
        its command) until `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        waited: set[asyncio.Task[None]] = set()
        while (todo := self._tasks - waited) and (left := deadline - loop.time()) > 0:
            await asyncio.wait(todo, timeout=left)
            waited |= todo
        if self.requests is not None:
            await self.requests.outbox.drain(timeout)

    def start_sweeper(self) -> None:
        """Expire proposed requests past their time and say so on their messages."""
        if self.requests is not None:
            self.spawn(self._sweep(self.requests))

    async def _sweep(self, requests: RequestMessages) -> None:
        while True:
            try:
                await requests.sweep()
            except StoreError as err:  # busy or away for now: the next sweep tries again
                log.warning("expiry sweep skipped: %s", err)
            except Exception:  # a bug must not end the sweeper either
                log.exception("expiry sweep failed")
            await asyncio.sleep(self.sweep_interval)

    def start_scheduler(self, scheduler: Scheduler) -> None:
        """Run the scheduler's jobs in the background until `close` (not one of the tasks
        `drain` waits for: it never ends by itself)."""
        self.scheduler = scheduler
        self._scheduler_task = task = asyncio.get_running_loop().create_task(scheduler.run())
        task.add_done_callback(self._done)
        self.health.scheduler_alive = lambda: not task.done()
        self.health.scan_interval = self.history.scan_interval  # staleness matters now

    async def stop_scheduler(self) -> None:
        task, self._scheduler_task = self._scheduler_task, None
        self.health.scheduler_alive = self.health.scan_interval = None
        if task is not None:
            task.cancel()
            await asyncio.wait({task}, timeout=5.0)

    async def close(self) -> None:
        await self.stop_scheduler()
        for task in list(self._tasks):
            task.cancel()
        await self.drain(1.0)
        if self.requests is not None:
            await self.requests.outbox.close()
        await self.poster.close()
