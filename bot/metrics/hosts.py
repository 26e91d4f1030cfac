"""Per-host gauges, labelled `host` and `cluster`, built at scrape time from every host's
newest snapshot in the store (so that any replica's /metrics shows the whole fleet, whichever
replica scanned it) and from this replica's own reads (`top`, `check`, `scan`), newest wins.

A snapshot does not carry the build, so `aio_bot_host_fix_available` is known only for hosts
this replica has read since it started."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.clock import utcnow
from bot.esx.report import HostReport
from bot.history.records import Snapshot
from bot.history.snapshot import snapshot_of
from bot.store.api import Store

LABELS = ("host", "cluster")
STORE_TTL = 5.0  # seconds a read of the store's latest snapshots is reused (scrapes, probes)
STORE_TIMEOUT = 5.0


@dataclass(frozen=True)
class HostFigures:
    """What the gauges say of one host: its newest snapshot, and whether the fix applies
    (None: not known, the snapshot came from the store)."""

    snapshot: Snapshot
    fix_available: bool | None = None

    @property
    def labels(self) -> tuple[str, str]:
        return self.snapshot.host, self.snapshot.cluster or "default"


# (name, help, value of a HostFigures, or None to leave the host out of that family)
_FAMILIES: tuple[tuple[str, str, Callable[[HostFigures], float | None]], ...] = (
    ("aio_bot_host_handles_in_use", "FDS AIO handles in use at the host's last read.",
     lambda f: f.snapshot.in_use),
    ("aio_bot_host_handles_limit_runtime", "The AIO handle limit in force (runtime).",
     lambda f: f.snapshot.runtime_limit),
    ("aio_bot_host_handles_limit_configured",
     "FDSNumAIOHandles as configured (differs from runtime until a reboot).",
     lambda f: f.snapshot.configured_limit),
    ("aio_bot_host_handles_used_percent", "Percent of the runtime limit in use.",
     lambda f: round(f.snapshot.percent_used, 3)),
    ("aio_bot_host_reboot_pending", "1 when a raised limit waits for a reboot.",
     lambda f: float(f.snapshot.reboot_pending)),
    ("aio_bot_host_fix_available",
     "1 when FDSNumAIOHandles=65536 applies to the host's build (known from this replica's "
     "reads only).",
     lambda f: None if f.fix_available is None else float(f.fix_available)),
    ("aio_bot_host_fds_warnings",
     "FDS 'No free handles' warnings in the last read's window (24 h).",
     lambda f: f.snapshot.fds_warnings),
    ("aio_bot_host_last_read_timestamp_seconds",
     "Unix time of the host's last successful read.",
     lambda f: f.snapshot.at.timestamp()),
)
AGE = "aio_bot_host_seconds_since_last_read"


class HostGauges(Collector):
    """A prometheus-client collector of the fleet's latest figures."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.clock = clock
        self._stored: dict[str, Snapshot] = {}
        self._local: dict[str, HostFigures] = {}
        self._read_at = -STORE_TTL
        self._lock = asyncio.Lock()

    async def refresh(self, store: Store | None, *, force: bool = False) -> list[Snapshot]:
        """Read every host's newest snapshot from the store (at most every STORE_TTL s unless
        `force`); the snapshots. A store that fails raises (readiness reports it)."""
        if store is None:
            return list(self._stored.values())
        async with self._lock:
            if force or time.monotonic() - self._read_at >= STORE_TTL:
                latest = await asyncio.wait_for(store.latest_snapshots(), STORE_TIMEOUT)
                self._stored = {s.host: s for s in latest}
                self._read_at = time.monotonic()
        return list(self._stored.values())

    def observe_snapshots(self, snapshots: Iterable[Snapshot]) -> None:
        """Figures this replica just stored (a background scan)."""
        for snap in snapshots:
            self._remember(HostFigures(snap, self._fix_of(snap.host)))

    def observe_reports(self, reports: Sequence[HostReport], at: datetime | None = None
                        ) -> None:
        """Figures this replica just read (`top`, `check`, `scan`, a background scan)."""
        for report in reports:
            when = at or report.collected_at or self.clock()
            self._remember(HostFigures(snapshot_of(report, when), report.fix.available))

    def _fix_of(self, host: str) -> bool | None:
        known = self._local.get(host)
        return None if known is None else known.fix_available

    def _remember(self, figures: HostFigures) -> None:
        old = self._local.get(figures.snapshot.host)
        if old is None or old.snapshot.at <= figures.snapshot.at:
            if figures.fix_available is None and old is not None:
                figures = HostFigures(figures.snapshot, old.fix_available)
            self._local[figures.snapshot.host] = figures

    def figures(self) -> list[HostFigures]:
        """Each host's newest figures: the store's, or this replica's own when newer."""
        merged = {h: HostFigures(s, self._fix_of(h)) for h, s in self._stored.items()}
        for host, local in self._local.items():
            stored = merged.get(host)
            if stored is None or stored.snapshot.at < local.snapshot.at:
                merged[host] = local
        return [merged[h] for h in sorted(merged)]

    def describe(self) -> Iterable[Metric]:
        return []  # families are built at scrape time

    def collect(self) -> Iterator[Metric]:
        figures = self.figures()
        for name, help_text, value in _FAMILIES:
            family = GaugeMetricFamily(name, help_text, labels=LABELS)
            for f in figures:
                v = value(f)
                if v is not None:
                    family.add_metric(f.labels, float(v))
            yield family
        now = self.clock()
        age = GaugeMetricFamily(AGE, "Seconds since the host's last successful read.",
                                labels=LABELS)
        for f in figures:
            age.add_metric(f.labels, max(0.0, (now - f.snapshot.at).total_seconds()))
        yield age
