"""Summaries (and the App Home glance) as terminal text and JSON-ready dicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.console.grid import table
from bot.history.fleet import ClusterCounts, HostStatus
from bot.history.forecast import human_duration
from bot.history.glance import GlanceResult
from bot.history.records import AlertRecord
from bot.history.summary import RemediationLine, SummaryResult

SHOWN = 15


def render_summary(result: SummaryResult) -> str:
    c = result.counts
    head = f"Fleet summary, {result.period.label} ({_t(result.since)} to {_t(result.until)})"
    if result.simulated:
        head += " - SIMULATED HISTORY (demo)"
    out = [head, ""]
    if result.scanned_now:
        out.append("No stored history: the fleet was scanned now.")
    if result.comparison is not None:
        out += [result.comparison.sentence(result.period.label), ""]
    out.append(f"Hosts now: {len(result.hosts)} - {c['critical']} critical, {c['warning']} "
               f"warning, {c['ok']} ok")
    out += ["", _clusters(result.clusters)] if result.clusters else []
    at_risk = [h for h in result.hosts if h.risk.value != "ok"]
    if at_risk:
        out += ["", "At risk:", _hosts(at_risk)]
    out += ["", f"Incidents in the period: {len(result.incidents)} "
                f"({len(result.open_incidents)} still open)"]
    out += [f"  {_incident(a, result.until)}" for a in result.incidents[-SHOWN:]]
    out += ["", f"Remediations: {len(result.done)} done, {len(result.pending)} pending, "
                f"{len(result.failed)} failed, {len(result.review)} need review (interrupted), "
                f"{len(result.closed)} rejected/expired/cancelled"]
    for label, lines in (("NEEDS REVIEW", result.review), ("done", result.done),
                         ("pending", result.pending), ("failed", result.failed)):
        out += [f"  {label}: {_remediation(r)}" for r in lines[-SHOWN:]]
    reboot = result.reboot_pending
    out += ["", "Reboot pending (raised limit not in force yet): "
                + (", ".join(f"{h.host} ({h.configured_limit:,} configured, {h.runtime_limit:,}"
                             " running)" for h in reboot) or "none")]
    if result.stale:
        out.append(f"Not seen in the period: {', '.join(result.stale)}")
    if result.unreachable:
        out.append(f"Could not be scanned now: {', '.join(result.unreachable)}")
    omitted = f", {len(result.chart.omitted)} omitted" if result.chart.omitted else ""
    out += ["", f"Chart: {len(result.chart.hosts)} host(s) drawn{omitted} from "
                f"{result.snapshot_count:,} snapshots; PNG {len(result.chart.png):,} bytes."]
    return "\n".join(out)


def render_glance(result: GlanceResult) -> str:
    c = result.counts
    as_of = _t(result.as_of) if result.as_of else "never scanned"
    out = [f"Fleet at a glance (as of {as_of}): {c['critical']} critical, {c['warning']} "
           f"warning, {c['ok']} ok", f"Open incidents: {len(result.open_incidents)}"]
    out += [f"  {_incident(a, result.now)}" for a in result.open_incidents]
    out.append(f"Pending approvals: {len(result.pending_approvals)}")
    out += [f"  #{r.id} {r.kind} {r.target} on {r.host}, asked by {r.requested_by}"
            for r in result.pending_approvals]
    if result.stale:
        out.append(f"Not scanned for a day: {', '.join(result.stale)}")
    return "\n".join(out)


def _clusters(clusters: list[ClusterCounts]) -> str:
    return table(["cluster", "critical", "warning", "ok", "hosts"],
                 [(k.cluster, k.critical, k.warning, k.ok, k.total) for k in clusters],
                 right={1, 2, 3, 4})


def _hosts(hosts: list[HostStatus]) -> str:
    return table(["host", "cluster", "risk", "used", "in use", "limit", "FDS warnings 24h"],
                 [(h.host, h.cluster or "-", h.risk.value, f"{h.percent:.1f}%",
                   f"{h.in_use:,}", f"{h.runtime_limit:,}", f"{h.fds_warnings:,}")
                  for h in hosts], right={3, 4, 5, 6})


def _incident(a: AlertRecord, now: datetime) -> str:
    end = a.resolved_at or now
    state = f"resolved {_t(a.resolved_at)}" if a.resolved_at else "OPEN"
    return (f"#{a.id} {a.host}: {a.peak_level.upper()} peak, opened {_t(a.opened_at)}, "
            f"{state} ({human_duration(end - a.opened_at)})")


def _remediation(r: RemediationLine) -> str:
    who = f", approved by {r.approved_by}" if r.approved_by else ""
    return (f"#{r.id} {r.kind} {r.target} on {r.host} ({r.state}), asked by "
            f"{r.requested_by}{who}")


def _t(when: datetime | None) -> str:
    return f"{when:%Y-%m-%d %H:%M} UTC" if when else "-"


# ---- JSON -----------------------------------------------------------------------------------

def summary_dict(result: SummaryResult) -> dict[str, Any]:
    return {
        "period": result.period.name,
        "since": result.since.isoformat(),
        "until": result.until.isoformat(),
        "simulated": result.simulated,
        "scanned_now": result.scanned_now,
        "counts": result.counts,
        "clusters": [{"cluster": k.cluster, "ok": k.ok, "warning": k.warning,
                      "critical": k.critical} for k in result.clusters],
        "hosts": [host_dict(h) for h in result.hosts],
        "incidents": [alert_dict(a) for a in result.incidents],
        "remediations": {
            "done": [remediation_dict(r) for r in result.done],
            "pending": [remediation_dict(r) for r in result.pending],
            "failed": [remediation_dict(r) for r in result.failed],
            "needs_review": [remediation_dict(r) for r in result.review],
            "closed": [remediation_dict(r) for r in result.closed],
        },
        "reboot_pending": [h.host for h in result.reboot_pending],
        "stale": result.stale,
        "unreachable": result.unreachable,
        "chart": {"png_bytes": len(result.chart.png), "hosts": result.chart.hosts,
                  "omitted": result.chart.omitted, "snapshots": result.snapshot_count},
        "compared": comparison_dict(result),
    }


def comparison_dict(result: SummaryResult) -> dict[str, Any] | None:
    """The change against the previous period of the same length."""
    cmp = result.comparison
    if cmp is None:
        return None
    return {"direction": cmp.direction, "sentence": cmp.sentence(result.period.label),
            "hosts_at_risk": {"then": cmp.at_risk_then, "now": cmp.at_risk_now},
            "incidents": {"then": cmp.incidents_then, "now": cmp.incidents_now},
            "handles_freed": {"then": cmp.freed_then, "now": cmp.freed_now},
            "remediations_done": {"then": cmp.done_then, "now": cmp.done_now},
            "riskiest": None if cmp.riskiest is None else {
                "host": cmp.riskiest, "then": cmp.riskiest_then, "now": cmp.riskiest_now}}


def glance_dict(result: GlanceResult) -> dict[str, Any]:
    return {
        "as_of": result.as_of.isoformat() if result.as_of else None,
        "counts": result.counts,
        "hosts": [host_dict(h) for h in result.hosts],
        "open_incidents": [alert_dict(a) for a in result.open_incidents],
        "pending_approvals": [{"id": r.id, "kind": r.kind, "target": r.target,
                               "host": r.host, "requested_by": r.requested_by,
                               "expires_at": r.expires_at.isoformat()}
                              for r in result.pending_approvals],
        "stale": result.stale,
    }


def host_dict(h: HostStatus) -> dict[str, Any]:
    return {"host": h.host, "cluster": h.cluster, "risk": h.risk.value,
            "percent_used": round(h.percent, 1), "in_use": h.in_use,
            "runtime_limit": h.runtime_limit, "configured_limit": h.configured_limit,
            "reboot_pending": h.reboot_pending, "fds_warnings": h.fds_warnings,
            "at": h.at.isoformat()}


def alert_dict(a: AlertRecord) -> dict[str, Any]:
    return {"id": a.id, "host": a.host, "level": a.level, "peak_level": a.peak_level,
            "opened_at": a.opened_at.isoformat(),
            "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None}


def remediation_dict(r: RemediationLine) -> dict[str, Any]:
    return {"id": r.id, "kind": r.kind, "target": r.target, "host": r.host, "state": r.state,
            "requested_by": r.requested_by, "approved_by": r.approved_by,
            "at": r.at.isoformat(), "outcome": r.outcome}
