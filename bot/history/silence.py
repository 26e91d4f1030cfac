"""Silencing an incident: acknowledge it (who, when: later changes edit its message without
pinging anyone) or snooze it for 1 h, 4 h or until it resolves (no edits while snoozed; the
resolution still shows). Kept in the incident's `last_state["silence"]` (carried over by
every scan, `bot.history.alerts`) and written to the audit trail."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.history.alerts import SILENCE
from bot.history.records import AlertRecord
from bot.store.api import Store

SNOOZES: dict[str, timedelta | None] = {"1h": timedelta(hours=1), "4h": timedelta(hours=4),
                                        "resolved": None}  # None: until it resolves


@dataclass(frozen=True)
class Silence:
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    snoozed_by: str | None = None
    snoozed_at: datetime | None = None
    snoozed_until: datetime | None = None
    until_resolved: bool = False

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_by is not None

    def snoozed(self, now: datetime) -> bool:
        return self.until_resolved or (self.snoozed_until is not None
                                       and now < self.snoozed_until)

    @classmethod
    def of(cls, alert: AlertRecord) -> Silence:
        raw = alert.last_state.get(SILENCE)
        if not isinstance(raw, dict):
            return cls()
        return cls(acknowledged_by=_text(raw, "acknowledged_by"),
                   acknowledged_at=_time(raw, "acknowledged_at"),
                   snoozed_by=_text(raw, "snoozed_by"), snoozed_at=_time(raw, "snoozed_at"),
                   snoozed_until=_time(raw, "snoozed_until"),
                   until_resolved=bool(raw.get("until_resolved", False)))

    def state(self) -> dict[str, Any]:
        return {"acknowledged_by": self.acknowledged_by,
                "acknowledged_at": _iso(self.acknowledged_at),
                "snoozed_by": self.snoozed_by, "snoozed_at": _iso(self.snoozed_at),
                "snoozed_until": _iso(self.snoozed_until),
                "until_resolved": self.until_resolved}


async def acknowledge(store: Store, alert: AlertRecord, user: str,
                      now: datetime) -> AlertRecord:
    """Record that `user` acknowledged `alert`; a second acknowledgement keeps the first."""
    silence = Silence.of(alert)
    if silence.acknowledged:
        return alert
    return await _save(store, alert, replace(silence, acknowledged_by=user,
                                             acknowledged_at=now), user, now,
                       "alert-acknowledged", {})


async def snooze(store: Store, alert: AlertRecord, user: str, span: str,
                 now: datetime) -> AlertRecord:
    """Snooze `alert` for `span` (a key of SNOOZES); snoozing also acknowledges it."""
    length = SNOOZES[span]
    silence = Silence.of(alert)
    if not silence.acknowledged:
        silence = replace(silence, acknowledged_by=user, acknowledged_at=now)
    silence = replace(silence, snoozed_by=user, snoozed_at=now,
                      snoozed_until=None if length is None else now + length,
                      until_resolved=length is None)
    return await _save(store, alert, silence, user, now, "alert-snoozed", {"for": span})


async def _save(store: Store, alert: AlertRecord, silence: Silence, user: str, now: datetime,
                event: str, detail: dict[str, Any]) -> AlertRecord:
    state = {**alert.last_state, SILENCE: silence.state()}
    saved = await store.update_alert(alert.id, alert.level, state, now=now)
    if saved is None:  # resolved in the meantime
        return alert
    await store.audit(None, alert.host, user, event, {"alert": alert.id, **detail}, now=now)
    return saved


def _text(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) and value else None


def _time(raw: dict[str, Any], key: str) -> datetime | None:
    value = raw.get(key)
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()
