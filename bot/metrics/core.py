"""Every figure one bot process exports, on its own prometheus-client registry (one per
`Metrics`, so that tests and several apps in one process do not share counters)."""

from __future__ import annotations

import platform
from collections import Counter as Tally
from collections.abc import Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from bot import __version__
from bot.esx.collect import HostFailure
from bot.metrics.hosts import HostGauges

ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0)
SCAN_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
HOST_LABELS = ("host", "cluster")

# no `*_created` series next to every counter and histogram
disable_created_metrics()  # type: ignore[no-untyped-call,unused-ignore]


class Metrics:
    """Commands by name and outcome, ack latency, scan durations, SSH errors, per-host figures
    (`hosts`), per-host scan durations and failures, Alertmanager webhooks, process and build
    info. `render()` is the text exposition."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self._commands = Counter("aio_bot_commands", "Commands run, by command and outcome.",
                                 ("command", "outcome"), registry=registry)
        self._ssh_errors = Counter("aio_bot_ssh_errors",
                                   "Hosts that could not be read, by command.", ("command",),
                                   registry=registry)
        self._duplicates = Counter("aio_bot_duplicate_deliveries",
                                   "Slack redeliveries answered once.", registry=registry)
        self.ack = Histogram("aio_bot_ack_seconds",
                             "Time from a Slack request's arrival to its HTTP answer.",
                             buckets=ACK_BUCKETS, registry=registry)
        self.scan = Histogram("aio_bot_scan_duration_seconds",
                              "Wall time of whole `scan` commands.", buckets=SCAN_BUCKETS,
                              registry=registry)
        self.background_scan = Histogram("aio_bot_background_scan_duration_seconds",
                                         "Wall time of background fleet scans.",
                                         buckets=SCAN_BUCKETS, registry=registry)
        self.host_scan_seconds = Gauge("aio_bot_host_scan_duration_seconds",
                                       "Wall time of the host's last read by this replica.",
                                       HOST_LABELS, registry=registry)
        self.host_failures = Counter("aio_bot_host_scan_failures",
                                     "Reads of the host that failed on this replica.",
                                     HOST_LABELS, registry=registry)
        self.webhooks = Counter("aio_bot_alertmanager_alerts",
                                "Alerts received on POST /alertmanager, by outcome.",
                                ("outcome",), registry=registry)
        self.hosts = HostGauges()
        registry.register(self.hosts)
        Info("aio_bot_build", "The running aio-bot.", registry=registry).info(
            {"version": __version__, "python": platform.python_version()})
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.ssh_errors: Tally[str] = Tally()  # the same figures, for tests and the bench
        self._duplicate_count = 0

    def command(self, name: str, outcome: str) -> None:
        self._commands.labels(command=name, outcome=outcome).inc()

    def ssh_error(self, command: str, count: int = 1) -> None:
        self._ssh_errors.labels(command=command).inc(count)
        self.ssh_errors[command] += count

    @property
    def duplicates(self) -> int:
        return self._duplicate_count

    @duplicates.setter
    def duplicates(self, value: int) -> None:
        if value > self._duplicate_count:
            self._duplicates.inc(value - self._duplicate_count)
        self._duplicate_count = value

    def host_failed(self, failures: Sequence[HostFailure]) -> None:
        for failure in failures:
            self.host_failures.labels(host=failure.host, cluster=failure.cluster).inc()

    def host_durations(self, seconds: dict[str, float], clusters: dict[str, str]) -> None:
        for host, took in seconds.items():
            self.host_scan_seconds.labels(host=host, cluster=clusters.get(host, "default")
                                          ).set(took)

    def render(self) -> str:
        return generate_latest(self.registry).decode()
