"""The forecast on synthetic histories: rising, flat, falling, noisy, too short, at limit."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from bot.history.forecast import ForecastSettings, fit, forecast, human_duration
from tests.test_history_helpers import LIMIT, T0, snap


def series(values: list[int], every: timedelta = timedelta(minutes=10), host: str = "h"):
    return [snap(host, T0 + every * i, v) for i, v in enumerate(values)]


def test_rising_line_gives_the_eta_from_the_latest_reading() -> None:
    # +600 handles per hour, sampled every 10 minutes for 3 hours
    history = series([20000 + 100 * i for i in range(19)])
    fc = forecast(history)
    assert fc.kind == "rising" and fc.rising
    assert fc.slope_per_hour == pytest.approx(600)
    assert fc.r2 == pytest.approx(1.0)
    latest = history[-1]
    expected = latest.at + timedelta(hours=(LIMIT - latest.in_use) / 600)
    assert fc.eta is not None and abs(fc.eta - expected) < timedelta(seconds=1)
    assert "reaches the limit in about" in fc.describe(latest.at)


def test_flat_history_is_not_rising() -> None:
    fc = forecast(series([25000] * 12))
    assert fc.kind == "flat" and fc.eta is None and fc.slope_per_hour == 0
    assert fc.describe() == "flat"


def test_tiny_slope_within_epsilon_is_flat() -> None:
    # +10 handles/h is under 0.1 % of the limit (32.8/h): noise, not a trend
    fc = forecast(series([25000 + (i * 10) // 6 for i in range(12)]))
    assert fc.kind == "flat" and fc.eta is None


def test_falling_history() -> None:
    fc = forecast(series([30000 - 200 * i for i in range(12)]))
    assert fc.kind == "falling" and fc.eta is None and fc.slope_per_hour < 0
    assert fc.describe() == "falling"


def test_noisy_history_gets_no_eta() -> None:
    rng = random.Random(7)
    values = [24000 + rng.randint(-3000, 3000) + 20 * i for i in range(30)]
    fc = forecast(series(values))
    assert fc.r2 is not None and fc.r2 < 0.5
    assert fc.kind == "noisy" and fc.eta is None and fc.noisy
    assert fc.describe() == f"too noisy to tell (R² {fc.r2:.2f})"
    assert "not rising" not in fc.describe()


@pytest.mark.parametrize("values,every", [
    ([20000, 21000], timedelta(minutes=30)),  # two points
    ([20000, 21000, 22000], timedelta(minutes=5)),  # three points over 10 minutes
    ([], timedelta(minutes=5)),
])
def test_too_short(values: list[int], every: timedelta) -> None:
    fc = forecast(series(values, every))
    assert fc.kind == "too_short" and fc.eta is None
    assert fc.describe() == f"not enough history ({len(values)} readings)"


def test_already_at_or_over_the_limit() -> None:
    history = series([30000, 31500, LIMIT])
    fc = forecast(history)
    assert fc.kind == "at_limit" and fc.eta == history[-1].at


def test_window_keeps_only_recent_points() -> None:
    # falling long ago, rising in the last 6 hours: the window sees only the rise
    old = series([30000 - 500 * i for i in range(10)], timedelta(hours=1))
    start = old[-1].at + timedelta(hours=1)
    recent = [snap("h", start + timedelta(minutes=30 * i), 20000 + 300 * i) for i in range(12)]
    fc = forecast(old + recent, ForecastSettings(window=timedelta(hours=6)))
    assert fc.kind == "rising" and fc.points == 12
    assert fc.slope_per_hour == pytest.approx(600)


def test_fit_and_durations() -> None:
    assert fit([0, 1, 2], [1, 3, 5]) == (pytest.approx(2.0), pytest.approx(1.0))
    with pytest.raises(ValueError):
        fit([1, 1], [2, 3])
    assert human_duration(timedelta(seconds=30)) == "under a minute"
    assert human_duration(timedelta(minutes=190)) == "3 h 10 min"
    assert human_duration(timedelta(days=2, hours=4)) == "2 d 4 h"


@pytest.mark.parametrize("before", [
    [25000] * 12,  # flat, then a jump
    [26000 - 50 * i for i in range(12)],  # falling, then a jump
    [25000 + (i % 2) * 800 for i in range(12)],  # jittery, then a jump
])
def test_a_sudden_rise_is_rising_or_too_noisy_never_flat(before: list[int]) -> None:
    """The latest reading jumps 9 points of the limit: whatever the line through the window
    says, the forecast does not say flat, falling or "not rising"."""
    fc = forecast(series([*before, before[-1] + 3000]))
    said = fc.describe(T0)
    assert fc.kind in ("rising", "noisy"), said
    assert said.startswith(("rising", "too noisy to tell")), said
    assert "not rising" not in said and "flat" not in said and "falling" not in said


def test_after_a_rise_a_flat_or_falling_forecast_becomes_too_noisy() -> None:
    flat = forecast(series([25000] * 12))
    assert flat.after_a_rise().describe().startswith("too noisy to tell")
    rising = forecast(series([20000 + 100 * i for i in range(19)]))
    assert rising.after_a_rise() is rising
