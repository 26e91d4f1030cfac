"""Render an example of every Slack message type from the real view functions on the demo
fleet, as compact text, into docs/messages.md (or stdout with `-`).

    scripts/render-messages            # writes docs/messages.md
    scripts/render-messages -          # prints it

Every message is built with `Message.build` (or `home_view`), so each example also passed the
block checks. Times and counts come from a live run of the demo fleet: they differ a little
from run to run."""

from __future__ import annotations

import asyncio
import re
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.demo import DemoFleet, demo_config  # noqa: E402
from bot.esx.report import HostReport  # noqa: E402
from bot.gate import Caller  # noqa: E402
from bot.history.alerts import AlertDecision  # noqa: E402
from bot.history.glance import fleet_at_a_glance  # noqa: E402
from bot.history.jobs import scan_and_alert  # noqa: E402
from bot.history.seed import seed_history  # noqa: E402
from bot.history.snapshot import snapshots_of  # noqa: E402
from bot.history.summary import PERIODS, build_summary  # noqa: E402
from bot.remediation.narrator import SayNarrator  # noqa: E402
from bot.sim import ops  # noqa: E402
from bot.slack.views.alert import alert_message, resolved_note  # noqa: E402
from bot.slack.views.check import check_message  # noqa: E402
from bot.slack.views.common import Message  # noqa: E402
from bot.slack.views.help import help_message  # noqa: E402
from bot.slack.views.home import home_view  # noqa: E402
from bot.slack.views.modals import (  # noqa: E402
    MOVE_VM,
    POWER_OFF,
    PROPOSE_FIX,
    Meta,
    fix_view,
    move_vm_view,
    power_off_view,
)
from bot.slack.views.plan import plan_message  # noqa: E402
from bot.slack.views.scan import progress_message, scan_message  # noqa: E402
from bot.slack.views.summary import summary_message  # noqa: E402
from bot.slack.views.top import top_message  # noqa: E402
from commands import choices  # noqa: E402
from commands.catalog import build_registry  # noqa: E402
from commands.context import Context  # noqa: E402
from commands.results import (  # noqa: E402
    CheckResult,
    HelpResult,
    PlanResult,
    ScanResult,
    TopResult,
)

USER, APPROVER, INCIDENTS = "U0OPERATOR", "U0ALICE", "C0INCIDENTS"
TABLE_ROWS = 10
HOST07_VMS = [f"vdi-eng-{n:03d}" for n in range(59, 64)]

INTRO = """# What aio-bot posts in Slack

One example of each message type, rendered from the real view functions on the demo fleet
by `scripts/render-messages` (which rewrites this file). Each block is shown compactly:
`##` a header, `›` a context line, `[ Button ]` a button (`*` primary, `!` danger),
`| … |` a native table (first rows only), `———` a divider; Slack's `<!date^…|fallback>`,
`<@user>` and `<#channel>` are shown as their fallbacks, `@user` and `#channel`. Every
message passed the block checks (`bot/slack/limits.py`) when it was built.
"""


def clean(text: str) -> str:
    text = re.sub(r"<!date\^\d+\^[^|>]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<@([A-Z0-9]+)>", r"@\1", text)
    text = re.sub(r"<#([A-Z0-9]+)>", r"#\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(obj: dict[str, Any] | None) -> str:
    return clean(str((obj or {}).get("text", "")))


def render_blocks(blocks: list[dict[str, Any]]) -> str:
    out: list[str] = []
    for b in blocks:
        kind = b["type"]
        if kind == "header":
            out.append(f"## {_text(b['text'])}")
        elif kind == "section":
            if "text" in b:
                out.append(_text(b["text"]))
            if "fields" in b:
                out.append("  ·  ".join(_text(f).replace("\n", ": ") for f in b["fields"]))
        elif kind == "context":
            out.append("› " + "  ".join(_text(e) for e in b["elements"]))
        elif kind == "actions":
            out.append("  ".join(_button(e) for e in b["elements"]))
        elif kind == "divider":
            out.append("———")
        elif kind == "table":
            out.append(_table(b["rows"]))
        elif kind == "input":
            out.append(_input(b))
        else:
            out.append(f"[{kind} block]")
    return "\n".join(out)


def _input(b: dict[str, Any]) -> str:
    """`Label: [ choice ▾ ]` for a select, `( ) option` for radio buttons and checkboxes."""
    e = b["element"]
    label = _text(b["label"]) + (" (optional)" if b.get("optional") else "")
    kind = e["type"]
    if kind in ("radio_buttons", "checkboxes"):
        box = "( )" if kind == "radio_buttons" else "[ ]"
        chosen = (e.get("initial_option") or {}).get("value")
        opts = "  ".join(("(•)" if o["value"] == chosen else box) + " " + _text(o["text"])
                         for o in e["options"])
        return f"{label}: {opts}"
    shown = (e.get("initial_option") or {}).get("text")
    what = _text(shown) if shown else _text(e.get("placeholder"))
    if kind == "conversations_select":
        what = f"#{e['initial_conversation']}" if e.get("initial_conversation") else what
    lines = [f"{label}: [ {what} ▾ ]" + (" (searches as you type)"
                                           if kind == "external_select" else "")]
    for o in (e.get("options") or [])[:TABLE_ROWS]:
        lines.append(f"    · {_text(o['text'])}")
    if len(e.get("options") or []) > TABLE_ROWS:
        lines.append(f"    · … {len(e['options']) - TABLE_ROWS} more")
    if b.get("hint"):
        lines.append(f"    ({_text(b['hint'])})")
    return "\n".join(lines)


def _button(e: dict[str, Any]) -> str:
    mark = {"primary": "*", "danger": "!"}.get(e.get("style", ""), "")
    return f"[ {_text(e['text'])}{mark} ]"


def _table(rows: list[list[dict[str, Any]]]) -> str:
    cells = [[str(c.get("text", "")) for c in row] for row in rows[:TABLE_ROWS + 1]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
             for r in cells]
    if len(rows) > TABLE_ROWS + 1:
        lines.append(f"| … {len(rows) - TABLE_ROWS - 1} more row(s)")
    return "\n".join(lines)


def section(title: str, about: str, message: Message | dict[str, Any],
            extra: str = "") -> str:
    blocks = message.blocks if isinstance(message, Message) else message["blocks"]
    body = render_blocks(blocks)
    if isinstance(message, dict) and message.get("type") == "modal":
        heading, submit = _text(message["title"]), message.get("submit")
        buttons = f"[ {_text(message['close'])} ]" + (f"  [ {_text(submit)}* ]" if submit
                                                      else "")
        body = f"┌ {heading}\n{body}\n└ {buttons}"
    text = f"## {title}\n\n{about}\n\n~~~text\n{body}\n~~~\n"
    if isinstance(message, Message) and message.attachment is not None:
        a = message.attachment
        text += (f"\nIn the thread: the file `{a.filename}` ({len(a.payload):,} bytes), "
                 f"comment: “{clean(a.comment)}”\n")
    return text + (f"\n{extra}\n" if extra else "")


async def run(registry: Any, ctx: Context, words: str) -> Any:
    command, args = registry.match(words)
    return await command.handler(ctx, args)


async def render() -> str:
    registry = build_registry()
    parts = [INTRO]
    async with DemoFleet(config=demo_config((APPROVER,))) as fleet:
        assert fleet.transport is not None and fleet.remediation is not None
        assert fleet.store is not None
        store = fleet.store
        remediation = fleet.remediation
        ctx = fleet.services.context(Caller(USER, "slack", "C0OPS", None))
        fleet.services.gate.home_team = None  # the examples come from no workspace
        now = datetime.now(UTC).replace(second=0, microsecond=0)

        help_result = await run(registry, ctx, "help")
        assert isinstance(help_result, HelpResult)
        parts.append(section("help", "`/aio help`: the commands (ephemeral).",
                             help_message(help_result)))
        top = await run(registry, ctx, "top host01")
        assert isinstance(top, TopResult)
        parts.append(section("top", "`/aio top host01`: the host, its VMs by handles (a native "
                             "table; a CSV in the thread beyond 99 rows), Refresh and "
                             "Propose fix.", top_message(top, USER, "top host01")))
        check = await run(registry, ctx, "check host03")
        assert isinstance(check, CheckResult)
        parts.append(section("check", "`/aio check host03`: the host picture and the verdict.",
                             check_message(check, USER, "check host03")))
        parts.append(section("scan: progress", "`/aio scan`: posted at once, edited as hosts "
                             "answer (at most every 3 s).",
                             progress_message("all hosts", 3, 8, 0, USER, "scan")))
        scan = await run(registry, ctx, "scan")
        assert isinstance(scan, ScanResult)
        parts.append(section("scan: result", "The same message, edited when the scan ends.",
                             scan_message(scan, 2.1, USER, "scan")))

        # a week of simulated history, so that the summary has lines and incidents
        reports = [o for o in await _scan(fleet, now) if isinstance(o, HostReport)]
        await seed_history(store, snapshots_of(reports, now), PERIODS["7d"], ctx.thresholds,
                           now)

        # alerts: host07 driven over the line, then the load migrated away
        alerts: list[tuple[str, str, Message]] = []
        steps: list[tuple[int, int | None, str]] = [(5, 5500, "open"), (10, 6100, "update")]
        for minutes, vmgfx, kind in steps:
            for vm in HOST07_VMS:
                ops.set_vm_handles(fleet.host_dirs["host07"], vm, vmgfx or 0)
            at = now + timedelta(minutes=minutes)
            decision = _host07(await scan_and_alert(store, fleet.transport,
                                                    list(fleet.inventory), ctx.thresholds, at))
            alerts.append((kind, "", alert_message(decision, at)))
        for vm in HOST07_VMS[:4]:
            ops.migrate_vm(fleet.host_dirs["host07"], fleet.host_dirs["host04"], vm)
        at = now + timedelta(minutes=15)
        decision = _host07(await scan_and_alert(store, fleet.transport, list(fleet.inventory),
                                                ctx.thresholds, at))
        alerts.append(("resolve", "", alert_message(decision, at)))
        about = {
            "open": "A background scan found host07 over the warning line: one message in the "
                    "incident channel. `Top VMs` answers in its thread; `Propose fix` posts a "
                    "plan in the channel.",
            "update": "The next scans edit the same message (chat.update) only when something "
                      "changed materially: the level, the load by 2 points or more, new FDS "
                      "warnings or hostd events.",
            "resolve": "Once the load is under the line (minus a 1-point margin) with nothing "
                       "new, the message is marked resolved, its buttons removed, and a note "
                       "goes to its thread (below).",
        }
        for kind, _, message in alerts:
            parts.append(section(f"alert: {kind}", about[kind], message))
        parts.append(section("alert: resolved note (in the thread)", "The note.",
                             resolved_note(decision, at)))

        # a plan with buttons, approved: the outcome in the thread and on the message
        plan = await run(registry, ctx, "fix host01")
        assert isinstance(plan, PlanResult)
        parts.append(section("plan", "`/aio fix host01`: the remediation plan, each step with "
                             "its reason and effect; Approve (danger and a confirm dialog "
                             "when guests are interrupted) and Reject.",
                             plan_message(plan.request, plan.plan)))
        said: list[str] = []

        async def say(text: str) -> None:
            said.append(text)

        outcome = await remediation.approve(plan.request.id, Caller(APPROVER, "slack", "C0OPS"),
                                            SayNarrator(say))
        if not said or not said[-1].startswith(("Done: ", "Failed: ")):
            said.append(("Done: " if outcome.ok else "Failed: ") + outcome.summary)
        thread = "\n".join(f"↳ {clean(t)}" for t in said)
        parts.append(section("plan: outcome", "After an approver's click the plan's message "
                             "is edited (buttons gone) and the progress and outcome go to its "
                             "thread.", plan_message(outcome.request, plan.plan),
                             extra=f"The thread:\n\n~~~text\n{thread}\n~~~"))
        pending = await run(registry, replace(ctx, caller="U0CAROL"), "fix host05")
        parts += await _modals(ctx, top)
        assert isinstance(pending, PlanResult)
        await scan_and_alert(store, fleet.transport, list(fleet.inventory), ctx.thresholds,
                             now + timedelta(minutes=20))  # after the fix: host01 resolves

        until = now + timedelta(minutes=25)
        summary = await build_summary(store, ctx.thresholds, PERIODS["7d"], until,
                                      simulated=True)
        parts.append(section(
            "summary", "`/aio summary 7d` (and the digest on `history.digest_cron`, to "
            "`slack.summary_channel`): the numbers in the message, the chart uploaded with "
            "files_upload_v2 in its thread. This one ran on a simulated week (labelled so).",
            summary_message(summary, USER, "summary 7d"),
            extra="The chart (the demo fleet's, from `aio-bot demo summary 7d`):\n\n"
                  "![Handles in use as % of the limit per host](demo-summary.png)"))
        glance = await fleet_at_a_glance(store, until, ctx.thresholds)
        parts.append(section("App Home", "Opening the app's Home tab (`app_home_opened`): the "
                             "fleet at a glance from the store (no scan), Scan now and Post "
                             "summary, Top VMs and Propose fix for each host at risk (each runs "
                             "as the clicker through the gate; answers in the clicker's "
                             "messages with the bot; the tab is published again after a scan), "
                             "then the commands. Up to 100 blocks.",
                             home_view(glance, help_result)))
    return "\n".join(parts)


async def _modals(ctx: Context, top: TopResult) -> list[str]:
    """The modals, at each step, from the same functions the app fills them with."""
    host = top.report.host
    opened = Meta(MOVE_VM, host=host, channel="C0OPS")
    vms = await choices.vms_on(ctx, host)
    heaviest = replace(opened, vm=vms[0].name)
    targets = await choices.targets_for(ctx, vms[0].name)
    searching = Meta(MOVE_VM, search=True)
    power = Meta(POWER_OFF, host=host, channel="C0OPS")
    fix = Meta(PROPOSE_FIX, host="host05")
    return [
        section("modal: Move a VM (picking)", "`Move a VM…` on a `top` message opens this "
                "modal (views.open on the click's trigger): the host's VMs, heaviest first; "
                "the proposal goes to the message's channel unless another is picked.",
                move_vm_view(opened, vms)),
        section("modal: Move a VM (targets)", "Once a VM is picked (views.update): only the "
                "hosts the planner would move it to (same cluster, its vGPU profile, room "
                "under the warning line), each with its projected usage; the planner's own "
                "choice first. Submitting runs `migrate <vm> to <host>` as the submitter, "
                "through the gate, checked against the picked channel; a refusal comes back "
                "on the channel field (`response_action: errors`).",
                move_vm_view(heaviest, vms, targets)),
        section("modal: Move a VM (from the shortcut)", "The global shortcut *Move a VM* "
                "opens the same modal with the host and the VM to search (external selects "
                "answered from the inventory, after the gate's READ check) and a channel to "
                "pick.", move_vm_view(searching, None)),
        section("modal: Power off a VM", "`Power off…` on a `top` message: the VM, guest "
                "shutdown or hard power-off (which needs its own tick), the channel. "
                "Submitting runs `power-off <vm> [hard]`.", power_off_view(power, vms)),
        section("modal: Propose a fix", "`Propose fix` for a host at risk on App Home: the "
                "plan `fix <host>` would propose, shown before it is posted in the picked "
                "channel.", fix_view(fix, await choices.fix_preview(ctx, "host05"))),
    ]


async def _scan(fleet: DemoFleet, now: datetime) -> list[Any]:
    from bot.esx.collect import scan_hosts

    assert fleet.transport is not None
    return list(await scan_hosts(fleet.transport, list(fleet.inventory), now=now))


def _host07(decisions: list[AlertDecision]) -> AlertDecision:
    [decision] = [d for d in decisions if d.host == "host07"]
    return decision


def main() -> int:
    text = asyncio.run(render())
    target = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "docs" / "messages.md")
    if target == "-":
        print(text)
    else:
        Path(target).write_text(text, encoding="utf-8")
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
