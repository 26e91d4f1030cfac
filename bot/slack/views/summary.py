"""`summary [24h|7d|30d]` and the scheduled digest: what a manager reads in a minute (hosts by
risk with counts per cluster, incidents, remediations with who approved them, reboots
pending), and the chart as a PNG in the message's thread."""

from __future__ import annotations

import re
from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from bot.assess import Risk
from bot.history.fleet import HostStatus
from bot.history.forecast import human_duration
from bot.history.records import AlertRecord
from bot.history.summary import RemediationLine, SummaryResult
from bot.slack.limits import HEADER_TEXT_LIMIT
from bot.slack.views.alert import slack_time
from bot.slack.views.common import Attachment, Message, asked_by, clip, esc, mrkdwn
from bot.slack.views.host import RISK_MARK
from bot.slack.views.tables import table_block

SHOWN_HOSTS = 15
SHOWN_INCIDENTS = 10
SHOWN_REMEDIATIONS = 5
SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
CRIT, WARN, OK = RISK_MARK[Risk.CRITICAL], RISK_MARK[Risk.WARNING], RISK_MARK[Risk.OK]
_STATE_MARK = {"succeeded": ":white_check_mark:", "failed": ":x:", "interrupted": ":warning:"}


def summary_message(result: SummaryResult, user_id: str | None = None, words: str = "", *,
                    digest: str | None = None) -> Message:
    """The summary, with the chart attached; `digest` (the cron expression) for the scheduled
    post, else the command's caller and words."""
    c = result.counts
    title = f"Fleet summary · {result.period.label}"
    if result.simulated:
        title += " · SIMULATED HISTORY"
    blocks: list[Block] = [
        HeaderBlock(text=clip(title, HEADER_TEXT_LIMIT)),
        ContextBlock(elements=[mrkdwn(_span(result))]),
    ]
    if result.comparison is not None:
        blocks.append(SectionBlock(text=mrkdwn(direction_line(result))))
    blocks += [
        SectionBlock(text=mrkdwn(
            f"*Hosts now: {len(result.hosts)}* · {_mark('critical')} *{c['critical']}* critical"
            f" · {_mark('warning')} *{c['warning']}* warning · {_mark('ok')} *{c['ok']}* ok")),
    ]
    if result.clusters:
        blocks.append(table_block(
            ("cluster", "critical", "warning", "ok", "hosts"),
            [(k.cluster, k.critical, k.warning, k.ok, k.total) for k in result.clusters],
            right=frozenset({1, 2, 3, 4})))
    at_risk = [h for h in result.hosts if h.risk.value != "ok"]
    if at_risk:
        blocks.append(SectionBlock(text=mrkdwn(_at_risk(at_risk))))
    blocks.append(SectionBlock(text=mrkdwn(_incidents(result))))
    blocks.append(SectionBlock(text=mrkdwn(_remediations(result))))
    blocks.append(SectionBlock(text=mrkdwn(_reboots(result.reboot_pending))))
    notes = _notes(result)
    if notes:
        blocks.append(ContextBlock(elements=[mrkdwn(notes)]))
    blocks.append(ContextBlock(elements=[mrkdwn(_chart_note(result))]))
    if digest is not None:
        cron = f" (`history.digest_cron` = `{esc(digest)}`)" if digest else ""
        blocks.append(ContextBlock(elements=[mrkdwn(f":calendar: Scheduled digest{cron}")]))
    elif user_id is not None:
        blocks.append(asked_by(user_id, words or f"summary {result.period.name}"))
    text = (f"Fleet summary, {result.period.label}: {c['critical']} critical, {c['warning']} "
            f"warning, {c['ok']} ok; {len(result.incidents)} incident(s); "
            f"{len(result.done)} remediation(s) done, {len(result.pending)} pending, "
            f"{len(result.failed)} failed, {len(result.review)} need review.")
    if result.comparison is not None:
        text += " " + esc(result.comparison.sentence(result.period.label))
    return Message.build(text, blocks, chart_attachment(result))


DIRECTION_MARK = {"better": ":chart_with_downwards_trend:", "worse": ":chart_with_upwards_trend:",
                  "same": ":left_right_arrow:", "unknown": ":grey_question:"}


def direction_line(result: SummaryResult) -> str:
    """The one sentence that says whether things got better or worse than the previous
    period of the same length."""
    cmp = result.comparison
    assert cmp is not None
    return f"{DIRECTION_MARK[cmp.direction]} *{esc(cmp.sentence(result.period.label))}*"


def chart_attachment(result: SummaryResult) -> Attachment:
    label = result.period.label
    simulated = " (simulated history)" if result.simulated else ""
    return Attachment(
        filename=f"aio-summary-{result.period.name}.png",
        title=f"AIO handles in use, {label}{simulated}",
        content="",
        comment=f"Chart for the {label}{simulated}: handles in use as % of each host's limit, "
                f"with the warning and critical lines.",
        data=result.chart.png)


def user(who: str | None) -> str:
    """A Slack user ID as a mention; anything else (the console's `@you`) as text."""
    if not who:
        return "-"
    return f"<@{who}>" if SLACK_ID.match(who) else esc(who)


def _mark(risk: str) -> str:
    return {"critical": CRIT, "warning": WARN, "ok": OK}[risk]


def _span(result: SummaryResult) -> str:
    text = (f"{slack_time(result.since)} → {slack_time(result.until)} · "
            f"{result.snapshot_count:,} snapshots")
    if result.scanned_now:
        text += " · no stored history: the fleet was scanned now"
    return text


def _at_risk(hosts: Sequence[HostStatus]) -> str:
    lines = [f"{RISK_MARK[h.risk]} *{esc(h.host)}* ({esc(h.cluster or '-')}) "
             f"{h.percent:.1f}% · {h.in_use:,} of {h.runtime_limit:,}"
             + (f" · {h.fds_warnings:,} FDS warnings in 24 h" if h.fds_warnings else "")
             for h in hosts[:SHOWN_HOSTS]]
    if len(hosts) > SHOWN_HOSTS:
        lines.append(f"…and {len(hosts) - SHOWN_HOSTS} more")
    return clip("*At risk*\n" + "\n".join(lines), 3000)


def _incidents(result: SummaryResult) -> str:
    incidents = result.incidents
    head = (f"*Incidents in the period: {len(incidents)}* "
            f"({len(result.open_incidents)} still open)")
    lines = [_incident(a, result) for a in incidents[-SHOWN_INCIDENTS:]]
    if len(incidents) > SHOWN_INCIDENTS:
        lines.insert(0, f"…{len(incidents) - SHOWN_INCIDENTS} earlier, then:")
    return clip("\n".join([head, *lines]), 3000)


def _incident(a: AlertRecord, result: SummaryResult) -> str:
    end = a.resolved_at or result.until
    state = "resolved" if a.resolved_at else "*open*"
    mark = CRIT if a.peak_level == "critical" else WARN
    return (f"{mark} #{a.id} *{esc(a.host)}* peak {a.peak_level.upper()}, opened "
            f"{slack_time(a.opened_at)}, {state} ({human_duration(end - a.opened_at)})")


def _remediations(result: SummaryResult) -> str:
    head = (f"*Remediations:* {len(result.done)} done · {len(result.pending)} pending · "
            f"{len(result.failed)} failed · {len(result.review)} need review (interrupted) · "
            f"{len(result.closed)} rejected/expired/withdrawn")
    lines: list[str] = []
    for label, group in (("needs review", result.review), ("done", result.done),
                         ("pending", result.pending), ("failed", result.failed)):
        shown = group[-SHOWN_REMEDIATIONS:]
        lines += [_remediation(label, r) for r in shown]
        if len(group) > len(shown):
            lines.append(f"…and {len(group) - len(shown)} more {label}")
    return clip("\n".join([head, *lines]), 3000)


def _remediation(label: str, r: RemediationLine) -> str:
    mark = _STATE_MARK.get(r.state, ":hourglass_flowing_sand:")
    who = f"asked by {user(r.requested_by)}"
    if r.approved_by:
        who += f", approved by {user(r.approved_by)}"
    return (f"{mark} {label}: #{r.id} {esc(r.kind)} *{esc(r.target)}* on {esc(r.host)} "
            f"({esc(r.state)}) · {who}")


def _reboots(hosts: Sequence[HostStatus]) -> str:
    if not hosts:
        return "*Reboot pending:* none"
    names = ", ".join(f"*{esc(h.host)}* ({(h.configured_limit or 0):,} configured, "
                      f"{h.runtime_limit:,} running)" for h in hosts)
    return clip(f"*Reboot pending* (a raised limit waits for a reboot): {names}", 3000)


def _notes(result: SummaryResult) -> str:
    notes = []
    if result.stale:
        notes.append(f"Not seen in the period: {esc(', '.join(result.stale))}.")
    if result.unreachable:
        notes.append(f"Could not be scanned now: {esc(', '.join(result.unreachable))}.")
    return clip(" ".join(notes), 2000)


def _chart_note(result: SummaryResult) -> str:
    omitted = f" ({len(result.chart.omitted)} calmer ones omitted)" if result.chart.omitted else ""
    return (f":bar_chart: The chart ({len(result.chart.hosts)} host(s){omitted}, "
            f"{result.snapshot_count:,} snapshots) is in the thread.")
