"""An alert incident as one message in the incident channel: posted when it opens, edited in
place while it lasts (what changed is said on the message), marked resolved when it clears
(buttons gone, a short note in its thread). Its buttons: Top VMs, Propose fix, Acknowledge and
Snooze 1 h / 4 h / until resolved (each runs words through the gate, like every button); who
acknowledged or snoozed it, and until when, is said on the message."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    SectionBlock,
)

from bot.assess import Risk
from bot.history.alerts import AlertDecision
from bot.history.forecast import human_duration
from bot.history.silence import Silence
from bot.slack.limits import HEADER_TEXT_LIMIT
from bot.slack.views.common import Message, bar, clip, esc, mrkdwn
from bot.slack.views.host import RISK_MARK
from bot.slack.views.top import PROPOSE_FIX

TOP_VMS = "top_vms"
ACKNOWLEDGE = "alert_acknowledge"
SNOOZES = {"alert_snooze_1h": ("1h", "Snooze 1 h"), "alert_snooze_4h": ("4h", "Snooze 4 h"),
           "alert_snooze_resolved": ("resolved", "Snooze until resolved")}
RESOLVED_MARK = ":white_check_mark:"
MAX_REASONS = 8


def slack_time(when: datetime, fmt: str = "{date_short_pretty} {time}") -> str:
    """A time every reader sees in their own zone (UTC in the fallback)."""
    return f"<!date^{int(when.timestamp())}^{fmt}|{when:%Y-%m-%d %H:%M} UTC>"


def alert_message(decision: AlertDecision, now: datetime) -> Message:
    """The incident's message after `decision` (open, update or resolve)."""
    snap, alert = decision.snapshot, decision.alert
    resolved = decision.kind == "resolve"
    if resolved:
        title = f"Resolved · {snap.host} · was {alert.peak_level.upper()}"
    else:
        title = (f"{snap.host} · {decision.level.value.upper()} · "
                 f"{snap.percent_used:.0f}% of AIO handles in use")
    blocks: list[Block] = [HeaderBlock(text=clip(title, HEADER_TEXT_LIMIT)),
                           SectionBlock(text=mrkdwn(esc(_summary(decision))))]
    blocks.append(SectionBlock(text=mrkdwn(_headroom(decision))))
    if decision.reasons and not resolved:
        lines = [f"• {esc(r)}" for r in decision.reasons[:MAX_REASONS]]
        blocks.append(SectionBlock(text=mrkdwn("*Why*\n" + "\n".join(lines))))
    if decision.forecast is not None and not resolved:
        blocks.append(ContextBlock(elements=[mrkdwn(
            f":chart_with_upwards_trend: *Forecast:* {esc(decision.forecast.describe(now))}")]))
    if decision.kind == "update" and decision.changes:
        blocks.append(ContextBlock(elements=[mrkdwn(
            f":arrows_counterclockwise: Updated {slack_time(now)}: "
            f"{esc('; '.join(decision.changes))}")]))
    silence = Silence.of(alert)
    said = silence_line(silence, now)
    if said and not resolved:
        blocks.append(ContextBlock(block_id=f"silence_{alert.id}", elements=[mrkdwn(said)]))
    if not resolved:
        blocks.append(alert_buttons(alert.id, snap.host, acknowledged=silence.acknowledged))
    blocks.append(ContextBlock(elements=[mrkdwn(_footer(decision, now))]))
    return Message.build(_text(decision), blocks)


def alert_buttons(alert_id: int, host: str, *, acknowledged: bool = False) -> ActionsBlock:
    """`Top VMs` (answered in the thread), `Propose fix` (a plan in the channel),
    `Acknowledge` (until someone did) and the snoozes."""
    buttons = [ButtonElement(text="Top VMs", action_id=TOP_VMS, value=host),
               ButtonElement(text="Propose fix", action_id=PROPOSE_FIX, value=host,
                             style="primary")]
    if not acknowledged:
        buttons.append(ButtonElement(text="Acknowledge", action_id=ACKNOWLEDGE, value=host))
    buttons += [ButtonElement(text=label, action_id=action, value=host)
                for action, (_, label) in SNOOZES.items()]
    return ActionsBlock(block_id=f"alert_{alert_id}", elements=buttons)


def silence_line(silence: Silence, now: datetime) -> str:
    """Who acknowledged or snoozed the incident, when, and until when; "" if nobody."""
    parts = []
    if silence.acknowledged_by and silence.acknowledged_at:
        parts.append(f":bust_in_silhouette: Acknowledged by <@{esc(silence.acknowledged_by)}> "
                     f"{slack_time(silence.acknowledged_at)}")
    if silence.snoozed_by and silence.snoozed(now):
        until = ("until it resolves" if silence.until_resolved or silence.snoozed_until is None
                 else f"until {slack_time(silence.snoozed_until)}")
        parts.append(f":zzz: Snoozed {until} by <@{esc(silence.snoozed_by)}>")
    return " · ".join(parts)


def silenced_note(text: str, user: str) -> Message:
    """The line in the incident's thread when someone acknowledges or snoozes it."""
    return Message.build(text, [SectionBlock(text=mrkdwn(f"{esc(text)} (<@{esc(user)}>)"))])


def escalated_note(decision: AlertDecision) -> Message:
    """A reply in the thread when an incident nobody acknowledged gets worse: it notifies the
    thread's followers, which an edit of the message does not."""
    snap = decision.snapshot
    text = (f"{snap.host} is now {decision.level.value.upper()}: "
            f"{snap.percent_used:.1f}% of its AIO handles in use.")
    return Message.build(esc(text), [SectionBlock(text=mrkdwn(
        f"{RISK_MARK[decision.level]} {esc(text)}"))])


def resolved_note(decision: AlertDecision, now: datetime) -> Message:
    """The short note in the incident's thread when it resolves."""
    snap, alert = decision.snapshot, decision.alert
    text = (f"{RESOLVED_MARK} Resolved {slack_time(now)}: *{esc(snap.host)}* is back to "
            f"{snap.percent_used:.1f}% of its limit after "
            f"{human_duration(now - alert.opened_at)} (peak {alert.peak_level.upper()}).")
    return Message.build(f"{esc(snap.host)} is back to OK.",
                         [SectionBlock(text=mrkdwn(text))])


def _summary(decision: AlertDecision) -> str:
    """The engine's sentence, without its forecast (shown on its own line)."""
    fc = decision.forecast
    text = decision.summary
    if fc is not None:
        text = text.replace(f" Forecast: {fc.describe(decision.snapshot.at)}.", "")
    return text


def _headroom(decision: AlertDecision) -> str:
    snap = decision.snapshot
    mark = RESOLVED_MARK if decision.kind == "resolve" else RISK_MARK[decision.level]
    headroom = max(0, snap.runtime_limit - snap.in_use)
    cluster = f" · cluster {esc(snap.cluster)}" if snap.cluster else ""
    return (f"{mark} `{bar(snap.percent_used / 100)}` *{snap.percent_used:.1f}%*\n"
            f"*{snap.in_use:,}* of *{snap.runtime_limit:,}* AIO handles in use · headroom "
            f"*{headroom:,}*{cluster}")


def _footer(decision: AlertDecision, now: datetime) -> str:
    alert = decision.alert
    parts = [f"Incident #{alert.id}", f"opened {slack_time(alert.opened_at)}"]
    if decision.kind == "resolve":
        parts.append(f"resolved {slack_time(now)}")
        parts.append(f"lasted {human_duration(now - alert.opened_at)}")
    else:
        parts.append(f"last scan {slack_time(decision.snapshot.at)}")
        if alert.peak_level != decision.level.value:
            parts.append(f"peak {alert.peak_level.upper()}")
    return " · ".join(parts)


def _text(decision: AlertDecision) -> str:
    snap = decision.snapshot
    if decision.kind == "resolve":
        return f"Resolved: {esc(snap.host)} is back to OK ({snap.percent_used:.1f}% in use)."
    level = decision.level if decision.level is not Risk.OK else Risk.WARNING
    return (f"{esc(snap.host)} is {level.value.upper()}: {snap.percent_used:.1f}% of its AIO "
            "handles in use.")
