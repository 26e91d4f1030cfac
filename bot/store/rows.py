"""Rows to records: the column lists shared by both backends, JSON and UTC time handling."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.store.api import AuditEntry, Request, State

REQUEST_COLUMNS = ("id, kind, target, host, params, state, requested_by, created_at, "
                   "expires_at, updated_at, approved_by, channel, message_ts, outcome, version")
AUDIT_COLUMNS = "id, request_id, host, at, actor, event, detail"

FromDb = Callable[[Any], datetime]


def utc(when: datetime) -> datetime:
    """`when` in UTC; a naive datetime is a programming error (its zone is unknown)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"naive datetime {when!r}: the store needs tz-aware times")
    return when.astimezone(UTC)


def iso(when: datetime) -> str:
    """Fixed-width ISO text in UTC, so that text order is time order (SQLite)."""
    return utc(when).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def from_iso(text: Any) -> datetime:
    return utc(datetime.fromisoformat(str(text)))


def dump_json(value: dict[str, Any] | None) -> str:
    return json.dumps(value or {}, sort_keys=True, separators=(",", ":"), default=str)


def load_json(text: Any) -> dict[str, Any]:
    value = json.loads(text) if text else {}
    return value if isinstance(value, dict) else {"value": value}


def to_request(row: Sequence[Any], from_db: FromDb) -> Request:
    (id_, kind, target, host, params, state, requested_by, created_at, expires_at, updated_at,
     approved_by, channel, message_ts, outcome, version) = row
    return Request(
        id=int(id_), kind=kind, target=target, host=host, params=load_json(params),
        state=State(state), requested_by=requested_by, created_at=from_db(created_at),
        expires_at=from_db(expires_at), updated_at=from_db(updated_at),
        approved_by=approved_by, channel=channel, message_ts=message_ts, outcome=outcome,
        version=int(version),
    )


def to_audit(row: Sequence[Any], from_db: FromDb) -> AuditEntry:
    id_, request_id, host, at, actor, event, detail = row
    return AuditEntry(
        id=int(id_), request_id=None if request_id is None else int(request_id), host=host,
        at=from_db(at), actor=actor, event=event, detail=load_json(detail),
    )
