"""Liveness and readiness, front-end neutral (the HTTP routes in `bot.slack.web.server` serve
them as GET /healthz and GET /readyz).

- live: the process and its event loop answer (this code runs on the loop), and the
  background scheduler, when it was started, has not died;
- ready: the store answers, Socket Mode is connected (in socket mode), the vCenter session
  works (when one is configured), and, when background scans are on, the fleet's newest
  snapshot in the store is not older than three scan intervals (a replica that started less
  than three intervals ago waits for the first one).

Each check is named; a failing one says why in a few words, never a secret."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.metrics.hosts import HostGauges
from bot.redact import redact
from bot.store.api import Store
from bot.vsphere.api import VCenter

STALE_INTERVALS = 3
STORE_TIMEOUT = 3.0
VCENTER_TIMEOUT = 10.0
VCENTER_CACHE = 30.0  # seconds a vCenter answer (or failure) is reused by the probes


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = "ok"


@dataclass
class Health:
    """What the probes look at; the front end fills in what it has."""

    store: Store | None = None
    hosts: HostGauges | None = None  # the store's latest snapshots, cached for /metrics too
    vcenter: VCenter | None = None
    scan_interval: timedelta | None = None  # background scans on
    clock: Callable[[], datetime] | None = None
    socket_connected: Callable[[], Awaitable[bool]] | None = None  # socket mode only
    scheduler_alive: Callable[[], bool] | None = None
    started: float = field(default_factory=time.monotonic)
    _vcenter_seen: tuple[float, Check] | None = field(default=None, repr=False)

    def live(self) -> list[Check]:
        checks = [Check("event_loop", True)]
        if self.scheduler_alive is not None:
            alive = self.scheduler_alive()
            checks.append(Check("scheduler", alive, "ok" if alive else "the background "
                                "scheduler stopped"))
        return checks

    async def ready(self) -> list[Check]:
        checks = [await self._store()]
        if self.socket_connected is not None:
            checks.append(await self._socket())
        if self.vcenter is not None:
            checks.append(await self._vcenter())
        if self.scan_interval is not None and checks[0].ok:
            checks.append(await self._fleet_scan(self.scan_interval))
        return checks

    async def _store(self) -> Check:
        if self.store is None:
            return Check("store", True, "none configured")
        try:
            await asyncio.wait_for(self.store.last_firing("scan"), STORE_TIMEOUT)
        except TimeoutError:
            return Check("store", False, f"no answer within {STORE_TIMEOUT:g} s")
        except Exception as err:
            return Check("store", False, _why(err))
        return Check("store", True)

    async def _socket(self) -> Check:
        assert self.socket_connected is not None
        try:
            connected = await asyncio.wait_for(self.socket_connected(), 2.0)
        except Exception as err:
            return Check("socket_mode", False, _why(err))
        return Check("socket_mode", connected, "connected" if connected else "disconnected")

    async def _vcenter(self) -> Check:
        assert self.vcenter is not None
        now = time.monotonic()
        if self._vcenter_seen is not None and now - self._vcenter_seen[0] < VCENTER_CACHE:
            return self._vcenter_seen[1]
        try:
            await asyncio.wait_for(self.vcenter.inventory(), VCENTER_TIMEOUT)
            check = Check("vcenter", True)
        except TimeoutError:
            check = Check("vcenter", False, f"no answer within {VCENTER_TIMEOUT:g} s")
        except Exception as err:
            check = Check("vcenter", False, _why(err))
        self._vcenter_seen = (now, check)
        return check

    async def _fleet_scan(self, interval: timedelta) -> Check:
        limit = interval * STALE_INTERVALS
        hosts = self.hosts or HostGauges()
        try:
            snapshots = await hosts.refresh(self.store)
        except Exception as err:
            return Check("fleet_scan", False, _why(err))
        now = self.clock() if self.clock else hosts.clock()
        newest = max((s.at for s in snapshots), default=None)
        if newest is not None and now - newest <= limit:
            return Check("fleet_scan", True, f"last scan {_ago(now - newest)} ago")
        if time.monotonic() - self.started < limit.total_seconds():
            return Check("fleet_scan", True, "waiting for the first scan")
        if newest is None:
            return Check("fleet_scan", False, "no scan in the store")
        return Check("fleet_scan", False, f"last scan {_ago(now - newest)} ago, more than "
                     f"{STALE_INTERVALS} intervals ({_ago(limit)})")


def _ago(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"


def _why(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return redact(f"{type(err).__name__}: {text}"[:200] if text else type(err).__name__)


def as_json(checks: list[Check]) -> dict[str, object]:
    failing = [c.name for c in checks if not c.ok]
    return {"status": "fail" if failing else "ok", "failing": failing,
            "checks": {c.name: c.detail for c in checks}}
