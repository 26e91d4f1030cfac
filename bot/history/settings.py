"""The `[history]` configuration table: background scans, retention, the digest schedule,
forecast and alert tuning. Parsed here (engine side); `bot.config` can call
`history_settings(data.get("history", {}))`.

```toml
[history]
scan_interval_minutes = 5      # 0 or absent: no background scans (the demo's default)
retention_days = 35
digest_cron = "0 9 * * 1-5"    # absent: no scheduled digest
digest_period = "24h"          # 24h | 7d | 30d
forecast_window_hours = 6
alert_material_percent = 2.0   # % points the load must move to update an incident message
```"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.errors import ConfigError
from bot.history.alerts import AlertPolicy
from bot.history.forecast import ForecastSettings
from bot.history.schedule import Cron, CronError
from bot.history.summary import DEFAULT_PERIOD, PERIODS


@dataclass(frozen=True)
class HistorySettings:
    scan_interval: timedelta | None = None  # None: no background scans
    retention: timedelta = timedelta(days=35)
    digest_cron: str | None = None
    digest_period: str = DEFAULT_PERIOD
    forecast_window: timedelta = timedelta(hours=6)
    material_percent: float = 2.0

    @property
    def alert_policy(self) -> AlertPolicy:
        return AlertPolicy(material_percent=self.material_percent,
                           forecast=ForecastSettings(window=self.forecast_window))


def history_settings(table: Mapping[str, Any]) -> HistorySettings:
    """Validate the `[history]` table; every problem is a ConfigError naming the key."""
    def number(key: str, default: float, low: float) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"`history.{key}` must be a number.")
        if value < low:
            raise ConfigError(f"`history.{key}` must be at least {low:g}.")
        return float(value)

    interval = number("scan_interval_minutes", 0, 0)
    cron = table.get("digest_cron")
    if cron is not None:
        if not isinstance(cron, str):
            raise ConfigError("`history.digest_cron` must be a string such as \"0 9 * * 1-5\".")
        try:
            Cron.parse(cron)
        except CronError as err:
            raise ConfigError(f"`history.digest_cron`: {err}") from None
    period = table.get("digest_period", DEFAULT_PERIOD)
    if period not in PERIODS:
        raise ConfigError(f"`history.digest_period` must be one of {', '.join(PERIODS)}.")
    return HistorySettings(
        scan_interval=timedelta(minutes=interval) if interval else None,
        retention=timedelta(days=number("retention_days", 35, 1)),
        digest_cron=cron,
        digest_period=period,
        forecast_window=timedelta(hours=number("forecast_window_hours", 6, 0.25)),
        material_percent=number("alert_material_percent", 2.0, 0.1),
    )
