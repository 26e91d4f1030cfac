"""Remediation results as text: a plan with its request, an outcome, the audit trail."""

from __future__ import annotations

from bot.console.grid import table
from bot.remediation.plan import Plan
from bot.store.api import Request
from commands.results import (
    AuditResult,
    ConfirmResult,
    OutcomeResult,
    PlanResult,
    RequestResult,
)


def render_plan(result: PlanResult) -> str:
    lines = _plan_lines(result.request, result.plan)
    r = result.request
    lines.append(f"Approve with `approve {r.id}` (an approver, not {r.requested_by}) or "
                 f"`reject {r.id}`.")
    return "\n".join(lines)


def render_confirm(result: ConfirmResult) -> str:
    r, plan = result.request, result.plan
    hit = [s.vm or s.host for s in plan.steps if s.destructive]
    lines = _plan_lines(r, plan)
    lines.append(f"This interrupts {', '.join(hit[:5])}"
                 + (f" and {len(hit) - 5} more" if len(hit) > 5 else "")
                 + f". To run it, say `approve {r.id} confirm`.")
    return "\n".join(lines)


def _plan_lines(r: Request, plan: Plan) -> list[str]:
    lines = [f"Request #{r.id}: {plan.title} (proposed by {r.requested_by}, expires "
             f"{r.expires_at:%Y-%m-%d %H:%M} UTC)"]
    for number, step in enumerate(plan.steps, 1):
        what = step.kind.value + (f" {step.vm}" if step.vm else f" {step.host}")
        if step.vm_facts:
            what += f" ({step.vm_facts})"
        if step.target:
            what += f" → {step.target}"
        if step.hard:
            what += " (hard)"
        lines += [f"  {number}. {what}", f"     why: {step.reason}", f"     effect: {step.effect}"]
    lines += [f"  note: {n}" for n in plan.notes]
    return lines


def render_outcome(result: OutcomeResult) -> str:
    o = result.outcome
    head = "Done" if o.ok else "FAILED"
    who = f", approved by {o.request.approved_by}" if o.request.approved_by else ""
    return f"Request #{o.request.id} {o.request.state.value}{who}. {head}: {o.summary}"


def render_request(result: RequestResult) -> str:
    r = result.request
    return f"Request #{r.id} is {_state(r)}: {r.outcome or ''}".rstrip(": ")


def _state(r: Request) -> str:
    return "INTERRUPTED (needs review)" if r.state.needs_review else r.state.value


def render_audit(result: AuditResult) -> str:
    scope = result.host or "all hosts"
    requests = table(
        ["#", "kind", "target", "state", "asked by", "approved by", "outcome"],
        [(r.id, r.kind, r.target, _state(r), r.requested_by, r.approved_by or "-",
          _short(r.outcome or "-")) for r in result.requests],
        right={0})
    trail = table(
        ["when (UTC)", "#", "actor", "event", "detail"],
        [(e.at.strftime("%Y-%m-%d %H:%M:%S"), e.request_id or "-", e.actor, e.event,
          _short(_detail(e.detail))) for e in result.entries],
        right=set())
    return f"Requests for {scope}\n{requests}\n\nAudit trail\n{trail}"


def _detail(detail: dict[str, object]) -> str:
    keys = ("output", "error", "refused", "reason", "vm", "target")
    return "; ".join(f"{k}: {detail[k]}" for k in keys if detail.get(k))


def _short(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
