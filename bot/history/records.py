"""The stored records of the history: one snapshot per host per scan, and alert incidents.

Plain dataclasses with no imports from the store, so `bot.store.api` can name them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TOP_VMS = 5


@dataclass(frozen=True)
class Snapshot:
    """A host's figures at one scan. `fds_warnings`, `hostd_restarts` and `hostd_dumps` count
    the events in the 24 h window the scan looked at; `fds_last` and `hostd_last` are the
    newest event times, so the next scan can tell whether anything *new* happened."""

    host: str
    cluster: str | None
    at: datetime
    in_use: int
    runtime_limit: int
    configured_limit: int | None
    fds_warnings: int = 0
    hostd_restarts: int = 0
    hostd_dumps: int = 0
    top_vms: list[tuple[str, int]] = field(default_factory=list)  # (name, CHAR handles)
    fds_last: datetime | None = None
    hostd_last: datetime | None = None

    @property
    def percent_used(self) -> float:
        return 100.0 * self.in_use / self.runtime_limit if self.runtime_limit else 0.0

    @property
    def reboot_pending(self) -> bool:
        """A raised FDSNumAIOHandles waiting for a reboot to take effect."""
        return self.configured_limit is not None and self.configured_limit > self.runtime_limit


@dataclass(frozen=True)
class AlertRecord:
    """One incident on one host: opened, updated in place while it lasts, resolved.

    `channel`/`message_ts` locate the one Slack message the incident owns (set by the Slack
    layer through `store.set_alert_message`); `last_state` holds the figures last reported, so
    the next scan can tell whether anything changed materially."""

    id: int
    host: str
    opened_at: datetime
    updated_at: datetime
    level: str  # "warning" | "critical"
    peak_level: str
    resolved_at: datetime | None = None
    channel: str | None = None
    message_ts: str | None = None
    last_state: dict[str, Any] = field(default_factory=dict)
    version: int = 1

    @property
    def active(self) -> bool:
        return self.resolved_at is None
