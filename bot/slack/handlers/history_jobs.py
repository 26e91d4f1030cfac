"""The history's scheduled work for the Slack app: the background scan (snapshots, incidents,
alert messages in the incident channel), the digest (the summary and its chart in the summary
channel) and the retention prune, run by a `bot.history.schedule.Scheduler` so that replicas
sharing a store run each firing once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ConfigError
from bot.esx.collect import HostFailure, ScanOutcome, scan_hosts
from bot.esx.report import HostReport
from bot.history.alerts import AlertDecision
from bot.history.jobs import BackgroundScan, background_scan, history_jobs, hosts_in_maintenance
from bot.history.schedule import Job, Scheduler
from bot.history.settings import HistorySettings
from bot.history.summary import PERIODS, build_summary
from bot.slack.handlers.alerts import AlertPoster, post_message
from bot.slack.handlers.replies import Posted
from bot.slack.runtime import Runtime
from bot.slack.views.summary import summary_message
from bot.store.api import Store

log = logging.getLogger(__name__)


def wanted(settings: HistorySettings) -> bool:
    """Background scans or a digest are configured."""
    return settings.scan_interval is not None or bool(settings.digest_cron)


class HistoryJobs:
    """`scan(at)` and `digest(at)`, the jobs' functions (tests call them with their own
    `at`), and the scheduler that runs them."""

    def __init__(self, runtime: Runtime, client: AsyncWebClient,
                 store: Store | None = None) -> None:
        store = store or runtime.history_store
        if store is None:
            raise ConfigError("Background scans and digests need a store: configure "
                              "[vcenter] (remediation) or set AIO_BOT_DB.")
        self.runtime = runtime
        self.client = client
        self.store = store
        self.settings = runtime.history
        self.alerts = AlertPoster(client, store, runtime.access.incident_channel)

    async def scan(self, at: datetime) -> list[AlertDecision]:
        """Scan every host, store the snapshots, post or edit the incidents' messages (hosts
        in maintenance mode alert only when critical); the metrics follow."""
        rt = self.runtime
        hosts = list(rt.inventory)
        scan = await background_scan(self.store, rt.transport, hosts, rt.thresholds, at,
                                     concurrency=rt.concurrency,
                                     policy=self.settings.alert_policy,
                                     maintenance=await hosts_in_maintenance(hosts, rt.vcenter),
                                     scanner=rt.services.scanner)
        self._measure(scan, at)
        decisions = scan.decisions
        if decisions:
            log.info("scan at %s: %s", at.isoformat(),
                     ", ".join(f"{d.kind} {d.host}" for d in decisions))
        await self.alerts.deliver(decisions, at)
        return decisions

    def _measure(self, scan: BackgroundScan, at: datetime) -> None:
        metrics = self.runtime.metrics
        metrics.background_scan.observe(scan.seconds)
        clusters = {h.name: h.cluster for h in self.runtime.inventory}
        metrics.host_durations(scan.host_seconds, clusters)
        failures = [o for o in scan.outcomes if isinstance(o, HostFailure)]
        metrics.host_failed(failures)
        if failures:
            metrics.ssh_error("background-scan", len(failures))
        metrics.hosts.observe_reports([o for o in scan.outcomes if isinstance(o, HostReport)],
                                      at)

    async def digest(self, at: datetime) -> Posted | None:
        """The summary of `history.digest_period` ending `at`, posted to the summary channel
        with its chart in the thread."""
        channel = self.runtime.access.summary_channel
        if channel is None:
            log.warning("digest due but no summary channel configured (slack.summary_channel)")
            return None
        rt = self.runtime

        async def scan_now() -> list[ScanOutcome]:
            return await scan_hosts(rt.transport, list(rt.inventory),
                                    concurrency=rt.concurrency, now=at)

        period = PERIODS[self.settings.digest_period]
        result = await build_summary(self.store, rt.thresholds, period, at, scan=scan_now)
        message = summary_message(result, digest=self.settings.digest_cron or "")
        return await post_message(self.client, channel, message)

    def jobs(self) -> list[Job]:
        return history_jobs(self.settings, self.store, scan=self.scan, digest=self.digest)

    def scheduler(self, *, clock: Callable[[], datetime] | None = None,
                  holder: str | None = None) -> Scheduler:
        return Scheduler(self.store, self.jobs(), clock=clock or self.runtime.clock,
                         holder=holder)


def start_history(runtime: Runtime, client: AsyncWebClient) -> Scheduler | None:
    """Start the scheduler when `[history]` asks for scans or a digest; None otherwise."""
    if not wanted(runtime.history):
        return None
    scheduler = HistoryJobs(runtime, client).scheduler()
    runtime.start_scheduler(scheduler)
    return scheduler


def describe(settings: HistorySettings) -> str:
    """For the startup line: what runs in the background."""
    parts = []
    if settings.scan_interval is not None:
        parts.append(f"scans every {settings.scan_interval.total_seconds():g} s")
    if settings.digest_cron:
        parts.append(f"a {settings.digest_period} digest on `{settings.digest_cron}`")
    return " and ".join(parts) or "no background jobs"
