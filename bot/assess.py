"""From a host report to a verdict and the action an on-call engineer should take."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.esx.commandlines import AIO_HANDLES_FIXED, KERNEL_AIO
from bot.esx.report import HostReport, VmUsage


class Risk(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"


class Action(StrEnum):
    NONE = "none"
    RAISE_LIMIT = "raise-limit"
    REBOOT = "reboot"
    MIGRATE = "migrate"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Percent of the runtime limit in use at which a host is at risk."""

    warning_percent: float = 80.0
    critical_percent: float = 90.0


@dataclass(frozen=True, slots=True)
class Assessment:
    risk: Risk
    action: Action
    summary: str
    advice: str
    to_move: list[VmUsage]


def risk_of(report: HostReport, thresholds: Thresholds) -> Risk:
    """By % of the runtime limit in use; FDS warnings in the window make it at least a
    warning (the pool ran dry recently, even if usage has dropped since)."""
    if report.percent_used >= thresholds.critical_percent:
        return Risk.CRITICAL
    if report.fds.count or report.percent_used >= thresholds.warning_percent:
        return Risk.WARNING
    return Risk.OK


def assess(report: HostReport, thresholds: Thresholds) -> Assessment:
    risk = risk_of(report, thresholds)
    action = _action(report, risk, thresholds)
    to_move = vms_to_move(report, thresholds) if action is Action.MIGRATE else []
    advice = _advice(report, action, to_move)
    return Assessment(risk, action, _summary(report, risk), advice, to_move)


def _action(report: HostReport, risk: Risk, thresholds: Thresholds) -> Action:
    limit = report.limit
    if limit.reboot_pending and (limit.configured or 0) > limit.runtime:
        return Action.REBOOT
    if report.fix.available and limit.runtime < AIO_HANDLES_FIXED:
        return Action.RAISE_LIMIT if risk is not Risk.OK else Action.NONE
    if report.percent_used < thresholds.warning_percent:
        return Action.NONE
    return Action.MIGRATE


def vms_to_move(report: HostReport, thresholds: Thresholds) -> list[VmUsage]:
    """The heaviest VMs whose departure brings the host under the warning threshold."""
    target = report.limit.runtime * thresholds.warning_percent / 100.0
    in_use = report.in_use
    chosen: list[VmUsage] = []
    for vm in report.vms:
        if in_use < target:
            break
        if vm.char_handles == 0:
            continue
        chosen.append(vm)
        in_use -= vm.char_handles
    return chosen


def _summary(report: HostReport, risk: Risk) -> str:
    """Usage is counted as open CHAR handles (every cartel); the KB's vmgfx handles are the
    per-VM column."""
    used = (f"{report.in_use:,} of {report.limit.runtime:,} AIO handles in use (open CHAR "
            f"handles, {report.percent_used:.0f}%)")
    if not report.lsof_captured:
        used = "AIO handle usage not captured (no `vmkvsitools lsof` output)"
    warnings = report.fds.count
    tail = (f"; {warnings:,} FDS 'No free handles' warnings {report.window.label}"
            if warnings else "")
    return f"{report.host} is {risk.value.upper()}: {used}{tail}."


def _advice(report: HostReport, action: Action, to_move: list[VmUsage]) -> str:
    if action is Action.REBOOT:
        return (
            f"FDSNumAIOHandles is set to {report.limit.configured:,} but the host still runs with "
            f"{report.limit.runtime:,}: put it in maintenance mode (move or power off its vGPU "
            "VMs first) and reboot to apply it."
        )
    if action is Action.RAISE_LIMIT:
        check = ("" if report.limit.captured else
                 f"First check that the host has the setting (`{KERNEL_AIO}`). ")
        return check + (
            f"The fix applies: set FDSNumAIOHandles to {AIO_HANDLES_FIXED:,} "
            "(`esxcli system settings kernel set -s FDSNumAIOHandles -v 65536`), then reboot "
            "through maintenance mode and check that Runtime shows 65536."
        )
    if action is Action.MIGRATE:
        return _migrate_advice(report, to_move)
    if report.fix.available and report.limit.runtime >= AIO_HANDLES_FIXED:
        return "Nothing to do: the host already runs with the raised limit."
    if report.fds.count and report.fds.last:
        return (f"Usage is under the warning threshold now, but the pool ran dry "
                f"{report.fds.count:,} times {report.window.label} (last at "
                f"{report.fds.last.time:%Y-%m-%d %H:%M} UTC): keep an eye on it.")
    return "Nothing to do now: the host has room."


def _migrate_advice(report: HostReport, to_move: list[VmUsage]) -> str:
    names = ", ".join(f"{vm.name or f'cartel {vm.cartel_id}'} ({vm.vmgfx_handles:,} vmgfx, "
                      f"{vm.char_handles:,} open CHAR handles)" for vm in to_move[:5])
    more = f" and {len(to_move) - 5} more" if len(to_move) > 5 else ""
    return (
        "The FDSNumAIOHandles fix does not apply here (see Fix). Migrate the VMs holding the "
        "most open CHAR handles to a host with room, or power them off, until the host is "
        f"under the warning threshold: {names}{more}."
    )
