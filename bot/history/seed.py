"""A simulated history for the demo: from the current scan, synthesise snapshots for the
past period with a deterministic trend per host, ending exactly at the real readings, and
replay them through the alert logic so the summary has lines and incidents to show.

Everything here is SIMULATED and must be labelled so wherever it is shown (the demo summary
says "simulated history" in its text and on the chart)."""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot.assess import Thresholds
from bot.history.alerts import process_snapshots
from bot.history.records import Snapshot
from bot.history.summary import Period
from bot.store.api import Store

SEED = 408376
STEPS = {"24h": timedelta(minutes=10), "7d": timedelta(hours=1), "30d": timedelta(hours=4)}


def synthesise(current: Sequence[Snapshot], period: Period, thresholds: Thresholds,
               now: datetime, *, seed: int = SEED) -> list[list[Snapshot]]:
    """Scans (lists of snapshots, one per host) from `now - period` to `now`, oldest first;
    the last scan is `current`, re-stamped at `now`. Deterministic for a given input."""
    step = STEPS.get(period.name, period.length / 144)
    n = int(period.length / step)
    times = [now - step * (n - i) for i in range(n)]  # excludes now
    curves = {s.host: _curve(s, thresholds, n, seed) for s in current}
    scans: list[list[Snapshot]] = []
    for i, at in enumerate(times):
        scans.append([_past(s, curves[s.host][i], at) for s in current])
    scans.append([replace(s, at=now) for s in current])
    return scans


def _past(s: Snapshot, percent: float, at: datetime) -> Snapshot:
    in_use = max(0, min(s.runtime_limit - 1, round(s.runtime_limit * percent / 100.0)))
    ratio = in_use / s.in_use if s.in_use else 0.0
    return replace(s, at=at, in_use=in_use, fds_warnings=0, fds_last=None, hostd_restarts=0,
                   hostd_dumps=0, hostd_last=None,
                   top_vms=[(name, round(h * ratio)) for name, h in s.top_vms])


def _curve(s: Snapshot, thresholds: Thresholds, n: int, seed: int) -> list[float]:
    """n past readings (% of the limit) for a host whose reading now is `s.percent_used`:
    hosts at risk climbed into it; mid-load hosts had a spike that was dealt with; quiet
    hosts follow the working day. Small seeded noise on top."""
    rng = random.Random(seed ^ zlib.crc32(s.host.encode()))
    p = s.percent_used
    w, c = thresholds.warning_percent, thresholds.critical_percent
    raw: list[float] = []
    spike_at = rng.uniform(0.35, 0.6)
    spike_len = rng.uniform(0.06, 0.12)
    start = p * rng.uniform(0.62, 0.75)
    phase = rng.uniform(0, 2 * math.pi)
    for i in range(n + 1):
        x = i / max(1, n)  # 0 .. 1 (1 is now)
        if p >= c:  # steady climb to the critical reading
            value = start + (p - start) * x ** 1.4
        elif p >= w:  # a slower creep with a daily wiggle
            value = p - 12 * (1 - x) + 1.5 * math.sin(2 * math.pi * x * 3 + phase)
        elif p >= 45:  # flat, then a spike over the warning line, then back (migrated)
            bump = 0.0
            if spike_at <= x <= spike_at + spike_len:
                bump = (w + rng.uniform(2, 9) - p) * math.sin(math.pi * (x - spike_at)
                                                              / spike_len)
            value = p + bump + 1.5 * math.sin(2 * math.pi * x * 2 + phase)
        else:  # a quiet host: up and down with the working day
            value = p * (0.85 + 0.15 * math.sin(2 * math.pi * x * 4 + phase))
        raw.append(value)
    # bend the curve so that it meets the real reading now, then add a little noise
    miss = p - raw[-1]
    return [max(0.5, min(99.0, v + miss * (i / n) ** 3 + rng.gauss(0, 0.4)))
            for i, v in enumerate(raw[:-1])]


async def seed_history(store: Store, current: Sequence[Snapshot], period: Period,
                       thresholds: Thresholds, now: datetime, *, seed: int = SEED) -> int:
    """Store the simulated scans (through the alert logic, so incidents open and resolve as
    they would have); how many snapshots were written."""
    scans = synthesise(current, period, thresholds, now, seed=seed)
    written = 0
    for scan in scans:
        at = scan[0].at if scan else now
        await process_snapshots(store, scan, thresholds, at)
        written += len(scan)
    return written
