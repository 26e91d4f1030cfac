"""The App Home tab: the fleet at a glance (hosts by risk, open incidents, pending approvals)
from the store, its buttons (Scan now, Post summary; per host at risk Top VMs and Propose
fix: each runs as the clicker through the gate, `bot.slack.handlers.home`), then the
commands. At most 100 blocks, checked for the `home` surface."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)

from bot.assess import Risk
from bot.history.glance import GlanceResult
from bot.history.records import AlertRecord
from bot.slack.limits import assert_valid
from bot.slack.views.alert import slack_time
from bot.slack.views.common import clip, esc, mrkdwn
from bot.slack.views.host import RISK_MARK
from bot.slack.views.summary import user
from bot.store.api import Request
from commands.results import HelpResult

SHOWN_HOSTS = 20  # lines in one section
SHOWN_INCIDENTS = 20  # one section each
SHOWN_APPROVALS = 20  # one section each
SECTION_CHARS = 2900
SHOWN_HOST_BUTTONS = 10  # hosts at risk with their own buttons
HOME_SCAN = "home_scan"
HOME_SUMMARY = "home_summary"
HOME_TOP = "home_top"  # + "_<n>": action_ids are unique in a view; the value is the host
HOME_FIX = "home_fix"


def home_view(glance: GlanceResult | None, commands: HelpResult) -> dict[str, Any]:
    """The `home` view for views.publish; `glance` None when there is no store (history and
    changes are not configured)."""
    blocks: list[Block] = [HeaderBlock(text="Fleet at a glance"), _actions(glance is not None)]
    if glance is None:
        blocks.append(SectionBlock(text=mrkdwn(
            "No store is configured here, so there is no history to show. Ask with "
            "`/aio scan` or `/aio top <host>`.")))
    else:
        blocks += glance_blocks(glance)
    blocks += [DividerBlock(), HeaderBlock(text="Commands")]
    blocks += [SectionBlock(text=mrkdwn(chunk)) for chunk in _commands(commands)]
    dicts = [b.to_dict() for b in blocks]
    assert_valid(dicts, surface="home")
    return {"type": "home", "blocks": dicts}


def glance_blocks(g: GlanceResult) -> list[Block]:
    c = g.counts
    as_of = f"as of the scan {slack_time(g.as_of)}" if g.as_of else "no scan stored yet"
    blocks: list[Block] = [
        ContextBlock(elements=[mrkdwn(f"Latest stored scan per host, {as_of} · refreshed "
                                      f"{slack_time(g.now)} when you open this tab")]),
        SectionBlock(text=mrkdwn(
            f"*{len(g.hosts)} host(s):* {RISK_MARK[Risk.CRITICAL]} *{c['critical']}* critical"
            f" · {RISK_MARK[Risk.WARNING]} *{c['warning']}* warning · "
            f"{RISK_MARK[Risk.OK]} *{c['ok']}* ok")),
    ]
    if g.clusters:
        lines = [f"*{esc(k.cluster)}*: {k.critical} critical, {k.warning} warning, {k.ok} ok"
                 for k in g.clusters]
        blocks.append(SectionBlock(text=mrkdwn(clip("\n".join(lines), SECTION_CHARS))))
    at_risk = [h for h in g.hosts if h.risk is not Risk.OK]
    if at_risk:
        lines = [f"{RISK_MARK[h.risk]} *{esc(h.host)}* {h.percent:.1f}% · {h.in_use:,} of "
                 f"{h.runtime_limit:,}"
                 + (f" · {h.fds_warnings:,} FDS warnings in 24 h" if h.fds_warnings else "")
                 + (" · reboot pending" if h.reboot_pending else "")
                 for h in at_risk[:SHOWN_HOSTS]]
        if len(at_risk) > SHOWN_HOSTS:
            lines.append(f"…and {len(at_risk) - SHOWN_HOSTS} more")
        blocks.append(SectionBlock(text=mrkdwn(clip("*At risk*\n" + "\n".join(lines),
                                                    SECTION_CHARS))))
        blocks += host_buttons(g)
    if g.stale:
        blocks.append(ContextBlock(elements=[mrkdwn(clip(
            f"Not scanned for a day: {esc(', '.join(g.stale))}", SECTION_CHARS))]))
    blocks += [DividerBlock(), HeaderBlock(text=f"Open incidents ({len(g.open_incidents)})")]
    blocks += _incidents(g.open_incidents)
    blocks += [DividerBlock(),
               HeaderBlock(text=f"Pending approvals ({len(g.pending_approvals)})")]
    blocks += _approvals(g.pending_approvals)
    return blocks


def _actions(with_summary: bool) -> ActionsBlock:
    elements = [ButtonElement(text="Scan now", action_id=HOME_SCAN, value="scan",
                              style="primary")]
    if with_summary:
        elements.append(ButtonElement(text="Post summary", action_id=HOME_SUMMARY,
                                      value="summary"))
    return ActionsBlock(block_id="home_actions", elements=elements)


def host_buttons(g: GlanceResult) -> list[Block]:
    """Top VMs and Propose fix for each host at risk (the riskiest first)."""
    at_risk = [h for h in g.hosts if h.risk is not Risk.OK][:SHOWN_HOST_BUTTONS]
    blocks: list[Block] = []
    for i, h in enumerate(at_risk):
        name = clip(h.host, 40)
        blocks.append(ActionsBlock(block_id=f"home_host_{i}", elements=[
            ButtonElement(text=f"Top VMs · {name}", action_id=f"{HOME_TOP}_{i}", value=h.host),
            ButtonElement(text=f"Propose fix · {name}", action_id=f"{HOME_FIX}_{i}",
                          value=h.host)]))
    return blocks


def _incidents(alerts: Sequence[AlertRecord]) -> list[Block]:
    if not alerts:
        return [SectionBlock(text=mrkdwn("None :tada:"))]
    blocks: list[Block] = []
    for a in alerts[:SHOWN_INCIDENTS]:
        mark = RISK_MARK[Risk.CRITICAL if a.level == "critical" else Risk.WARNING]
        where = f" · in <#{a.channel}>" if a.channel else ""
        blocks.append(SectionBlock(text=mrkdwn(
            f"{mark} *{esc(a.host)}* {a.level.upper()} (peak {a.peak_level.upper()}) · "
            f"incident #{a.id} since {slack_time(a.opened_at)}{where}")))
    if len(alerts) > SHOWN_INCIDENTS:
        blocks.append(ContextBlock(elements=[mrkdwn(
            f"…and {len(alerts) - SHOWN_INCIDENTS} more.")]))
    return blocks


def _approvals(requests: Sequence[Request]) -> list[Block]:
    if not requests:
        return [SectionBlock(text=mrkdwn("Nothing waits for an approver."))]
    blocks: list[Block] = []
    for r in requests[:SHOWN_APPROVALS]:
        blocks.append(SectionBlock(text=mrkdwn(clip(
            f":hourglass_flowing_sand: *#{r.id}* {esc(r.kind)} *{esc(r.target)}* on "
            f"{esc(r.host)} · asked by {user(r.requested_by)} · expires "
            f"{slack_time(r.expires_at, '{time}')}\nApprove or reject on the request's "
            f"message, or `/aio approve {r.id}`.", SECTION_CHARS))))
    if len(requests) > SHOWN_APPROVALS:
        blocks.append(ContextBlock(elements=[mrkdwn(
            f"…and {len(requests) - SHOWN_APPROVALS} more.")]))
    return blocks


def _commands(result: HelpResult) -> list[str]:
    """The commands' syntax and summary, in sections of at most SECTION_CHARS."""
    chunks: list[str] = []
    current = ""
    for e in result.entries:
        line = f"*`/aio {esc(e.syntax)}`* {esc(e.summary)}"
        if current and len(current) + 1 + len(line) > SECTION_CHARS:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else clip(line, SECTION_CHARS)
    if current:
        chunks.append(current)
    return chunks[:10]
