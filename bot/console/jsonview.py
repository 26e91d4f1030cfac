"""Results as JSON-ready dicts (`--format json`). The schema is documented in the README."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.assess import Assessment
from bot.console.capture_notes import capture_dict
from bot.esx.records import FdsWarning, FdsWarningSummary
from bot.esx.report import HostReport, VmUsage
from commands.host_results import (
    CheckResult,
    HostFacts,
    InventoryResult,
    ScanResult,
    TopResult,
)

# Annotations only: bot.esx.collect imports asyncio, and commands.results the remediation,
# history and store types.
if TYPE_CHECKING:
    from bot.esx.collect import HostFailure
    from commands.results import HelpResult, Result


def to_dict(result: Result) -> dict[str, Any]:
    if isinstance(result, TopResult):
        doc = report_dict(result.report, limit=result.limit, facts=result.vcenter)
        doc["assessment"] = assessment_dict(result.assessment)
        return doc
    if isinstance(result, CheckResult):
        doc = report_dict(result.report, facts=result.vcenter)
        doc["assessment"] = assessment_dict(result.assessment)
        return doc
    if isinstance(result, ScanResult):
        return scan_dict(result)
    if isinstance(result, InventoryResult):
        return inventory_dict(result)
    # The other results' renderers import history, remediation and the store: only when
    # needed, so that `aio-bot analyze` (a TopResult) starts fast.
    from bot.console.changes_json import changes_dict
    from bot.console.history_view import summary_dict
    from commands.results import HelpResult, SilenceResult, SummaryResult

    if isinstance(result, SilenceResult):
        return {"alert": result.alert.id, "host": result.alert.host, "action": result.action,
                "by": result.by, "span": result.span, "text": result.sentence()}
    if isinstance(result, SummaryResult):
        return summary_dict(result)
    if isinstance(result, HelpResult):
        return help_dict(result)
    return changes_dict(result)


def report_dict(report: HostReport, *, limit: int | None = None,
                facts: HostFacts | None = None) -> dict[str, Any]:
    """The host report; with `facts` (vCenter configured) a `vcenter` object for the host
    and one per VM (joined by BIOS UUID; null when vCenter has no VM with it)."""
    doc = _report_dict(report, limit)
    if facts is not None:
        doc["vcenter"] = {"cluster": facts.cluster, "in_maintenance": facts.in_maintenance,
                          "connected": facts.connected}
        shown = report.vms if limit is None else report.vms[:limit]
        for vm, out in zip(shown, doc["vms"], strict=True):
            vc = facts.vm(vm)
            out["vcenter"] = None if vc is None else {
                "name": vc.name, "power_state": vc.power_state,
                "vgpu_profiles": list(vc.vgpu_profiles)}
    return doc


def inventory_dict(result: InventoryResult) -> dict[str, Any]:
    return {
        "source": result.source,
        "refreshed_at": _iso(result.refreshed_at),
        "refreshed_now": result.refreshed_now,
        "hosts": [{"name": h.name, "address": h.address, "port": h.port,
                   "cluster": h.cluster, "datacenter": h.datacenter, "source": h.source,
                   "connection_state": h.connection_state if h.source != "file" else None,
                   "in_maintenance": h.in_maintenance if h.source != "file" else None,
                   "power_state": h.power_state if h.source != "file" else None,
                   "has_gpu": h.has_gpu} for h in result.hosts],
    }


def _report_dict(report: HostReport, limit: int | None) -> dict[str, Any]:
    vms = report.vms if limit is None else report.vms[:limit]
    version = report.version
    return {
        "host": report.host,
        "cluster": report.cluster,
        "version": version.version if version else None,
        "build": version.build if version else None,
        "update": report.update_name,
        "vms": [vm_dict(vm) for vm in vms],
        "vm_count": len(report.vms),
        "limit": {
            "configured": report.limit.configured,
            "runtime": report.limit.runtime,
            "default": report.limit.default,
            "reboot_pending": report.limit.reboot_pending,
        },
        "in_use": report.in_use,
        "in_use_is_estimate": True,
        "percent_used": round(report.percent_used, 1),
        "headroom": report.headroom,
        "fix": {"available": report.fix.available, "reason": report.fix.reason},
        "warnings": fds_dict(report.fds),
        "hostd_events": [
            {"kind": e.kind, "time": _iso(e.time), "detail": e.detail}
            for e in report.hostd_events
        ],
        "collected_at": _iso(report.collected_at),
        "bytes_received": report.bytes_received,
        **capture_dict(report),
    }


def fds_dict(fds: FdsWarningSummary) -> dict[str, Any]:
    return {
        "count": fds.count,
        "first": warning_dict(fds.first),
        "last": warning_dict(fds.last),
        "per_hour": fds.per_hour,
    }


def warning_dict(w: FdsWarning | None) -> dict[str, Any] | None:
    return {"time": _iso(w.time), "text": w.text} if w else None


def vm_dict(vm: VmUsage) -> dict[str, Any]:
    return {
        "rank": vm.rank,
        "name": vm.name,
        "title": vm.title,
        "cartel_id": vm.cartel_id,
        "world_id": vm.world_id,
        "uuid": vm.uuid,
        "vmgfx_handles": vm.vmgfx_handles,
        "char_handles": vm.char_handles,
    }


def assessment_dict(a: Assessment) -> dict[str, Any]:
    return {
        "risk": a.risk.value,
        "action": a.action.value,
        "summary": a.summary,
        "advice": a.advice,
        "to_move": [vm.name or vm.cartel_id for vm in a.to_move],
    }


def scan_dict(result: ScanResult) -> dict[str, Any]:
    return {
        "scope": result.scope,
        "hosts": [
            {
                "host": r.report.host,
                "cluster": r.report.cluster,
                "percent_used": round(r.report.percent_used, 1),
                "in_use": r.report.in_use,
                "runtime_limit": r.report.limit.runtime,
                "build": r.report.version.build if r.report.version else None,
                "fix_available": r.report.fix.available,
                "risk": r.assessment.risk.value,
                "action": r.assessment.action.value,
                "warnings": r.report.fds.count,
                "bytes_received": r.report.bytes_received,
            }
            for r in result.rows
        ],
        "failures": [failure_dict(f) for f in result.failures],
    }


def failure_dict(f: HostFailure) -> dict[str, Any]:
    return {"host": f.host, "cluster": f.cluster, "error": f.error}


def help_dict(result: HelpResult) -> dict[str, Any]:
    return {
        "commands": [
            {"name": e.name, "syntax": e.syntax, "summary": e.summary, "details": e.details}
            for e in result.entries
        ]
    }


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None
