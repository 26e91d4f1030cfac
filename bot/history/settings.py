"""The `[history]` configuration table: background scans, retention, the digest schedule,
forecast and alert tuning. Read here (engine side) with `bot.settings_table`; `bot.config` calls
`history_settings(root.table("history"))`.

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

from dataclasses import dataclass
from datetime import timedelta

from bot.history.alerts import AlertPolicy
from bot.history.forecast import ForecastSettings
from bot.history.schedule import Cron, CronError
from bot.history.summary import DEFAULT_PERIOD, PERIODS
from bot.settings_table import Table


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


def history_settings(t: Table) -> HistorySettings:
    """Read the `[history]` table; problems go to the table's list (ConfigProblems)."""
    interval = t.number("scan_interval_minutes", 0, low=0)
    cron = t.string("digest_cron")
    if cron is not None:
        try:
            Cron.parse(cron)
        except CronError as err:
            t.problems.add(f"`{t.where}.digest_cron`: {err}")
            cron = None
    period = t.string("digest_period", DEFAULT_PERIOD)
    if period not in PERIODS:
        t.problems.add(f"`{t.where}.digest_period` must be one of {', '.join(PERIODS)}.")
        period = DEFAULT_PERIOD
    settings = HistorySettings(
        scan_interval=timedelta(minutes=interval) if interval else None,
        retention=timedelta(days=t.number("retention_days", 35, low=1)),
        digest_cron=cron,
        digest_period=period,
        forecast_window=timedelta(hours=t.number("forecast_window_hours", 6, low=0.25)),
        material_percent=t.number("alert_material_percent", 2.0, low=0.1),
    )
    t.finish()
    return settings
