"""Remediation results as JSON-ready dicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.store.api import AuditEntry, Request
from commands.results import (
    AuditResult,
    ConfirmResult,
    OutcomeResult,
    PlanResult,
    RequestResult,
)


def changes_dict(result: PlanResult | ConfirmResult | OutcomeResult | RequestResult
                 | AuditResult) -> dict[str, Any]:
    if isinstance(result, PlanResult):
        return {"request": request_dict(result.request), "plan": result.plan.to_json()}
    if isinstance(result, ConfirmResult):
        return {"request": request_dict(result.request), "plan": result.plan.to_json(),
                "needs_confirmation": True}
    if isinstance(result, OutcomeResult):
        o = result.outcome
        return {"request": request_dict(o.request), "ok": o.ok, "summary": o.summary}
    if isinstance(result, RequestResult):
        return {"request": request_dict(result.request)}
    return {"host": result.host, "requests": [request_dict(r) for r in result.requests],
            "audit": [audit_dict(e) for e in result.entries]}


def request_dict(r: Request) -> dict[str, Any]:
    return {"id": r.id, "kind": r.kind, "target": r.target, "host": r.host,
            "state": r.state.value, "needs_review": r.state.needs_review,
            "requested_by": r.requested_by,
            "approved_by": r.approved_by, "created_at": _iso(r.created_at),
            "expires_at": _iso(r.expires_at), "outcome": r.outcome}


def audit_dict(e: AuditEntry) -> dict[str, Any]:
    return {"id": e.id, "request_id": e.request_id, "host": e.host, "at": _iso(e.at),
            "actor": e.actor, "event": e.event, "detail": e.detail}


def _iso(t: datetime) -> str:
    return t.isoformat()
