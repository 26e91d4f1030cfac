"""When will a host run out of AIO handles? A least-squares line through its recent
snapshots, and where that line (started from the latest reading) meets the runtime limit.

Pure functions. Each forecast says what it knows: `rising` (with the ETA), `falling`, `flat`
(a slope within a small epsilon of zero), `noisy` ("too noisy to tell": the fit explains too
little of the variation, R² below `min_r2`, or the latest reading jumped far above the fitted
line), `too_short` (not enough history) or `at_limit`. A noisy host gets no ETA rather than a
made-up one, and never "flat" or "falling" while its load just rose."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from bot.history.records import Snapshot

ForecastKind = Literal["rising", "flat", "falling", "noisy", "too_short", "at_limit"]


@dataclass(frozen=True)
class ForecastSettings:
    window: timedelta = timedelta(hours=6)
    min_points: int = 3
    min_span: timedelta = timedelta(minutes=15)
    # slopes within ±max(epsilon_abs, epsilon_fraction * limit) handles/hour count as flat
    epsilon_abs: float = 1.0
    epsilon_fraction: float = 0.001
    min_r2: float = 0.5
    # the latest reading above the fitted line by more than this share of the limit is a
    # sudden rise: the fit cannot tell what comes next
    jump_fraction: float = 0.01


@dataclass(frozen=True)
class Forecast:
    kind: ForecastKind
    eta: datetime | None
    slope_per_hour: float  # handles per hour (fitted); 0.0 when too short
    r2: float | None  # goodness of the fit; None when there was no fit
    points: int = 0
    limit: int = 0
    noisy: bool = False  # kind "noisy": a poor fit, or a sudden rise the fit cannot follow

    @property
    def rising(self) -> bool:
        return self.kind == "rising"

    def after_a_rise(self) -> Forecast:
        """This forecast once the load is known to have just risen: "flat" or "falling"
        would contradict it, so those become "too noisy to tell"."""
        if self.kind in ("flat", "falling"):
            return replace(self, kind="noisy", noisy=True)
        return self

    def describe(self, now: datetime | None = None) -> str:
        """A few words for messages: "rising 600/h: reaches the limit in about 3 h 10 min
        (around 2025-01-01 14:05 UTC)", "falling", "flat", "too noisy to tell (R² 0.37)",
        "not enough history (2 readings)"."""
        if self.kind == "at_limit":
            return "at or over its runtime limit now"
        if self.kind == "too_short":
            return f"not enough history ({self.points} reading{'' if self.points == 1 else 's'})"
        if self.kind == "rising" and self.eta is not None:
            when = f"{self.eta:%Y-%m-%d %H:%M} UTC"
            if now is None:
                return f"rising {self.slope_per_hour:,.0f}/h: reaches the limit around {when}"
            return (f"rising {self.slope_per_hour:,.0f}/h: reaches the limit in about "
                    f"{human_duration(self.eta - now)} (around {when})")
        if self.kind == "noisy" or self.kind == "rising":  # rising without an ETA: noisy
            return "too noisy to tell" + (f" (R² {self.r2:.2f})" if self.r2 is not None else "")
        return "falling" if self.kind == "falling" else "flat"


def forecast(history: Sequence[Snapshot], settings: ForecastSettings | None = None) -> Forecast:
    """The forecast for one host from its snapshots (any order; other hosts' ignored: the
    host of the newest snapshot is the one forecast). The window ends at the newest snapshot."""
    s = settings or ForecastSettings()
    if not history:
        return Forecast("too_short", None, 0.0, None)
    ordered = sorted(history, key=lambda x: x.at)
    latest = ordered[-1]
    limit = latest.runtime_limit
    if latest.in_use >= limit:
        return Forecast("at_limit", latest.at, 0.0, None, 1, limit)
    start = latest.at - s.window
    points = [x for x in ordered if x.host == latest.host and x.at >= start]
    span = points[-1].at - points[0].at
    if len(points) < s.min_points or span < s.min_span:
        return Forecast("too_short", None, 0.0, None, len(points), limit)
    t0 = points[0].at
    xs = [(p.at - t0).total_seconds() / 3600.0 for p in points]
    ys = [float(p.in_use) for p in points]
    slope, r2 = fit(xs, ys)
    epsilon = max(s.epsilon_abs, s.epsilon_fraction * limit)
    if slope > epsilon and r2 >= s.min_r2:
        hours = (limit - latest.in_use) / slope
        return Forecast("rising", latest.at + timedelta(hours=hours), slope, r2, len(points),
                        limit)
    if _jumped(xs, ys, slope, s.jump_fraction * limit) or (
            abs(slope) > epsilon and r2 < s.min_r2):
        return Forecast("noisy", None, slope, r2, len(points), limit, True)
    if slope < -epsilon:
        return Forecast("falling", None, slope, r2, len(points), limit)
    return Forecast("flat", None, slope, r2, len(points), limit)


def _jumped(xs: Sequence[float], ys: Sequence[float], slope: float, margin: float) -> bool:
    """Whether the latest reading lies more than `margin` above the fitted line: a sudden
    rise that a flat or falling line would contradict."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    expected = my + slope * (xs[-1] - mx)
    return ys[-1] - expected > margin


def fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Least-squares slope and R² of y over x. A constant y is a perfect flat fit (R² 1)."""
    n = len(xs)
    if n < 2 or n != len(ys):
        raise ValueError("fit needs two or more (x, y) pairs")
    mx = sum(xs) / n
    my = sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0:
        raise ValueError("fit needs two or more distinct x values")
    slope = sxy / sxx
    if syy == 0:
        return slope, 1.0
    r2 = (sxy * sxy) / (sxx * syy)
    return slope, max(0.0, min(1.0, r2))


def human_duration(delta: timedelta) -> str:
    """`2 d 4 h`, `3 h 10 min`, `25 min`, `under a minute`."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return "under a minute"
    minutes = seconds // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"
