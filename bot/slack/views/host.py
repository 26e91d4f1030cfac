"""The host picture shared by `top` and `check`: header, headroom bar and numbers, build,
fix availability, FDS warnings and hostd events."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from bot.assess import Assessment, Risk
from bot.esx.report import HostReport
from bot.slack.limits import HEADER_TEXT_LIMIT
from bot.slack.views.common import bar, clip, esc, mrkdwn
from commands.host_results import HostFacts

RISK_MARK = {Risk.OK: ":large_green_circle:", Risk.WARNING: ":large_yellow_circle:",
             Risk.CRITICAL: ":red_circle:"}


def header(report: HostReport, assessment: Assessment) -> HeaderBlock:
    title = (f"{report.host} · {assessment.risk.value.upper()} · "
             f"{report.percent_used:.0f}% of AIO handles in use")
    return HeaderBlock(text=clip(title, HEADER_TEXT_LIMIT))


def host_blocks(report: HostReport, assessment: Assessment,
                vcenter: HostFacts | None = None) -> list[Block]:
    blocks: list[Block] = [header(report, assessment), headroom(report, assessment),
                           facts(report)]
    if vcenter is not None:
        blocks.append(vcenter_context(vcenter))
    events = events_text(report)
    if events:
        blocks.append(SectionBlock(text=mrkdwn(events)))
    return blocks


def headroom(report: HostReport, assessment: Assessment) -> SectionBlock:
    limit = report.limit
    line = (f"{RISK_MARK[assessment.risk]} `{bar(report.percent_used / 100)}` "
            f"*{report.percent_used:.1f}%*\n*{report.in_use:,}* of *{limit.runtime:,}* AIO "
            f"handles in use · headroom *{report.headroom:,}* (estimate: open CHAR handles)")
    return SectionBlock(text=mrkdwn(line))


def facts(report: HostReport) -> SectionBlock:
    fix = "available" if report.fix.available else "not available"
    fields = [
        mrkdwn(f"*Build*\n{esc(build_text(report))}"),
        mrkdwn(f"*Cluster*\n{esc(report.cluster or '-')}"),
        mrkdwn(f"*FDSNumAIOHandles*\n{esc(limit_text(report))}"),
        mrkdwn(f"*Fix (65536)*\n{fix}: {esc(clip(report.fix.reason, 1500))}"),
    ]
    return SectionBlock(fields=fields)


def vcenter_context(vcenter: HostFacts) -> ContextBlock:
    """What vCenter says of the host: its cluster, maintenance mode, connection."""
    maintenance = (":construction: *in maintenance mode*" if vcenter.in_maintenance
                   else "not in maintenance mode")
    state = "connected" if vcenter.connected else ":warning: *not connected*"
    line = (f"vCenter: cluster *{esc(clip(vcenter.cluster or '-', 200))}* · {maintenance} · "
            f"{state}")
    return ContextBlock(elements=[mrkdwn(line)])


def build_text(report: HostReport) -> str:
    v = report.version
    if v is None:
        return "version unknown"
    text = f"ESXi {v.version} build {v.build}"
    return f"{text} ({report.update_name})" if report.update_name else text


def limit_text(report: HostReport) -> str:
    limit = report.limit
    if limit.configured is None:
        return f"not set (default {limit.runtime:,})"
    if limit.reboot_pending:
        return f"configured {limit.configured:,}, runtime {limit.runtime:,}: reboot pending"
    return f"{limit.runtime:,}"


def events_text(report: HostReport) -> str:
    lines = []
    fds = report.fds
    if fds.count:
        last = f" (last {fds.last.time.strftime('%Y-%m-%d %H:%M UTC')})" if fds.last else ""
        lines.append(f":warning: *{fds.count:,}* FDS 'No free handles' warnings "
                     f"in the last 24 h{last}")
    restarts = sum(1 for e in report.hostd_events if e.kind == "restart")
    dumps = sum(1 for e in report.hostd_events if e.kind == "coredump")
    if restarts or dumps:
        lines.append(f":boom: hostd in the last 24 h: {restarts} start(s), {dumps} core dump(s)")
    return "\n".join(lines)


def verdict(assessment: Assessment) -> SectionBlock:
    text = (f"*{esc(assessment.summary)}*\n*Action:* {assessment.action.value}\n"
            f"{esc(assessment.advice)}")
    return SectionBlock(text=mrkdwn(text))
