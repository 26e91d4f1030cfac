"""Results as plain text tables for a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.console.capture_notes import capture_lines, limit_text
from bot.console.grid import table
from bot.esx.report import HostReport
from commands.host_results import (
    CheckResult,
    HostFacts,
    InventoryResult,
    ScanResult,
    TopResult,
)

# Annotations only: commands.results imports the remediation, history and store types.
if TYPE_CHECKING:
    from commands.results import HelpResult, Result

BAR_WIDTH = 30


def render(result: Result) -> str:
    if isinstance(result, TopResult):
        return render_top(result)
    if isinstance(result, CheckResult):
        return render_check(result)
    if isinstance(result, ScanResult):
        return render_scan(result)
    if isinstance(result, InventoryResult):
        return render_inventory(result)
    # The other results' renderers import history, remediation and the store: only when
    # needed, so that `aio-bot analyze` (a TopResult) starts fast.
    from bot.console import changes, history_view
    from commands.results import (
        AuditResult,
        ConfirmResult,
        OutcomeResult,
        PlanResult,
        RequestResult,
        SilenceResult,
        SummaryResult,
    )

    if isinstance(result, SummaryResult):
        return history_view.render_summary(result)
    if isinstance(result, SilenceResult):
        return result.sentence()
    if isinstance(result, PlanResult):
        return changes.render_plan(result)
    if isinstance(result, ConfirmResult):
        return changes.render_confirm(result)
    if isinstance(result, OutcomeResult):
        return changes.render_outcome(result)
    if isinstance(result, RequestResult):
        return changes.render_request(result)
    if isinstance(result, AuditResult):
        return changes.render_audit(result)
    return render_help(result)


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    filled = max(0, min(width, round(fraction * width)))
    return "[" + "#" * filled + "." * (width - filled) + "]"


def host_header(report: HostReport) -> list[str]:
    v = report.version
    build = f"ESXi {v.version} build {v.build}" if v else "version unknown"
    if report.update_name:
        build += f" ({report.update_name})"
    limit = report.limit
    pending = ""
    if limit.reboot_pending:
        pending = f"; configured {limit.configured:,}, reboot pending"
    lines = [
        f"{report.host}  {build}  cluster {report.cluster or '-'}",
        f"AIO handles {bar(report.percent_used / 100)} {report.in_use:,} / {limit_text(report)} "
        f"({report.percent_used:.1f}%), headroom {report.headroom:,} (estimate: open CHAR "
        f"handles){pending}",
        f"Fix (FDSNumAIOHandles=65536): {'available' if report.fix.available else 'not available'}"
        f" - {report.fix.reason}",
    ]
    if report.fds.count and report.fds.last:
        last = report.fds.last.time.strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"FDS 'No free handles' warnings {report.window.label}: "
                     f"{report.fds.count:,} (last {last})")
    restarts = [e for e in report.hostd_events if e.kind == "restart"]
    dumps = [e for e in report.hostd_events if e.kind == "coredump"]
    if restarts or dumps:
        lines.append(f"hostd {report.window.label}: {len(restarts)} start(s), "
                     f"{len(dumps)} core dump(s)")
    return lines + capture_lines(report)


def vcenter_line(facts: HostFacts | None) -> list[str]:
    """What vCenter says of the host (nothing without vCenter)."""
    if facts is None:
        return []
    state = "connected" if facts.connected else "NOT connected"
    maintenance = "in maintenance mode" if facts.in_maintenance else "not in maintenance mode"
    return [f"vCenter: cluster {facts.cluster or '-'}, {maintenance}, {state}"]


def render_top(result: TopResult) -> str:
    facts = result.vcenter
    headers = ["#", "VM", "cartel", "world", "vmgfx", "CHAR"]
    rows: list[tuple[object, ...]] = []
    for vm in result.shown:
        row: tuple[object, ...] = (vm.rank, vm.name or "(unknown)", vm.cartel_id,
                                   vm.world_id or "-", vm.vmgfx_handles, vm.char_handles)
        if facts is not None:
            vc = facts.vm(vm)
            row += (", ".join(vc.vgpu_profiles) or "-", vc.power_state) if vc else ("?", "?")
        rows.append(row)
    if facts is not None:
        headers += ["vGPU profile", "power"]
    body = table(headers, rows, right={0, 2, 3, 4, 5})
    more = len(result.report.vms) - len(result.shown)
    tail = [f"... and {more} more VMs (limit={result.limit})"] if more > 0 else []
    return "\n".join([*host_header(result.report), *vcenter_line(facts), "", body, *tail, "",
                      result.assessment.summary, result.assessment.advice])


def render_check(result: CheckResult) -> str:
    a = result.assessment
    return "\n".join([*host_header(result.report), *vcenter_line(result.vcenter), "",
                      a.summary, f"Action: {a.action.value}", a.advice])


def render_inventory(result: InventoryResult) -> str:
    rows = [(h.name, h.cluster, h.datacenter or "-", f"{h.address}:{h.port}", h.source,
             state_text(h.connection_state, h.in_maintenance, h.source),
             {True: "yes", False: "no", None: "?"}[h.has_gpu]) for h in result.hosts]
    when = (f", discovered {result.refreshed_at:%Y-%m-%d %H:%M:%S} UTC"
            if result.refreshed_at else "")
    head = (f"Inventory ({result.source}): {len(result.hosts)} host(s){when}"
            + (" (refreshed now)" if result.refreshed_now else ""))
    out = [head, "", table(["host", "cluster", "datacenter", "address", "source", "state",
                            "GPU"], rows, right=set())]
    if result.source == "file":
        out.append("The hosts come from the configuration's [[hosts]]; `refresh` has nothing "
                   "to discover.")
    return "\n".join(out)


def state_text(connection_state: str, in_maintenance: bool, source: str) -> str:
    """`connected`, `connected, maintenance`, `disconnected`; `-` for a file's host (not
    known)."""
    if source == "file":
        return "-"
    return connection_state + (", maintenance" if in_maintenance else "")


def render_scan(result: ScanResult) -> str:
    rows = [
        (r.report.host, r.report.cluster or "-", f"{r.report.percent_used:.1f}%",
         f"{r.report.in_use:,}", f"{r.report.limit.runtime:,}",
         r.report.version.build if r.report.version else "-",
         "yes" if r.report.fix.available else "no", r.assessment.risk.value,
         r.assessment.action.value)
        for r in result.rows
    ]
    out = [f"Scan of {result.scope}: {len(result.rows)} host(s) answered, "
           f"{len(result.failures)} failed", "",
           table(["host", "cluster", "used", "in use", "limit", "build", "fix", "risk",
                  "action"], rows, right={2, 3, 4, 5})]
    out += [f"FAILED {f.host}: {f.error}" for f in result.failures]
    return "\n".join(out)


def render_help(result: HelpResult) -> str:
    if result.topic:
        e = result.entries[0]
        lines = [e.syntax, f"  {e.summary}", f"  {e.details}"]
        return "\n".join(x for x in lines if x.strip())
    width = max(len(e.syntax) for e in result.entries)
    return "\n".join(f"{e.syntax.ljust(width)}  {e.summary}" for e in result.entries)
