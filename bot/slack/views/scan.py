"""`scan`: a progress message while hosts answer, then the hosts ranked by % in use."""

from __future__ import annotations

from collections import Counter

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from bot import messages
from bot.esx.collect import HostFailure
from bot.slack.views.common import Attachment, Message, asked_by, bar, clip, esc, mrkdwn
from bot.slack.views.tables import MAX_DATA_ROWS, table_block, to_csv
from commands.results import ScanResult, ScanRow

HEADERS = ("host", "cluster", "used", "in use", "limit", "fix", "risk", "action")
CSV_HEADERS = ("host", "cluster", "percent_used", "in_use", "runtime_limit", "build",
               "fix_available", "risk", "action", "fds_warnings")
FAILURES_SHOWN = 10


def progress_message(scope: str, done: int, total: int, failed: int, user_id: str,
                     words: str) -> Message:
    share = done / total if total else 0.0
    answered = (f"{done} of {total} host(s) answered" if total else "starting")
    line = (f":hourglass_flowing_sand: Scanning *{esc(scope)}*: `{bar(share)}` "
            f"{answered}" + (f", {failed} failed" if failed else ""))
    blocks = [SectionBlock(text=mrkdwn(line)), asked_by(user_id, words)]
    return Message.build(f"Scanning {esc(scope)}: {answered}", blocks)


def scan_message(result: ScanResult, seconds: float, user_id: str, words: str) -> Message:
    total = len(result.rows) + len(result.failures)
    blocks: list[Block] = [
        HeaderBlock(text=clip(f"Scan of {result.scope}: {total} host(s)", 150)),
        SectionBlock(text=mrkdwn(_summary(result, seconds))),
    ]
    if result.rows:
        blocks.append(table_block(HEADERS, [_row(r) for r in result.rows],
                                  right=frozenset({2, 3, 4})))
    if len(result.rows) > MAX_DATA_ROWS:
        blocks.append(ContextBlock(elements=[mrkdwn(
            f"The table shows the {MAX_DATA_ROWS} most used of {len(result.rows)} hosts; all of "
            "them are in the CSV file in the thread.")]))
    if result.failures:
        blocks.append(SectionBlock(text=mrkdwn(_failures(result.failures))))
    blocks.append(asked_by(user_id, words))
    attachment = _attachment(result) if len(result.rows) > MAX_DATA_ROWS else None
    text = f"Scan of {esc(result.scope)}: {_counts(result)} (asked by <@{user_id}>)"
    return Message.build(text, blocks, attachment)


def _counts(result: ScanResult) -> str:
    risks = Counter(r.assessment.risk.value for r in result.rows)
    parts = [f"{risks[k]} {k}" for k in ("critical", "warning", "ok") if risks[k]]
    parts.append(f"{len(result.failures)} failed")
    return ", ".join(parts)


def _summary(result: ScanResult, seconds: float) -> str:
    return f"{_counts(result)} · took {seconds:.1f} s · ranked by share of the runtime limit in use"


def _row(row: ScanRow) -> list[str | int]:
    r, a = row.report, row.assessment
    return [r.host, r.cluster or "-", f"{bar(r.percent_used / 100, 10)} {r.percent_used:.1f}%",
            r.in_use, r.limit.runtime, "yes" if r.fix.available else "no", a.risk.value,
            a.action.value]


def _failures(failures: list[HostFailure]) -> str:
    lines = [f"*Could not scan {len(failures)} host(s):*"]
    lines += [f"• {esc(clip(f.error, 200))}" for f in failures[:FAILURES_SHOWN]]
    if len(failures) > FAILURES_SHOWN:
        lines.append(f"… and {len(failures) - FAILURES_SHOWN} more")
    return "\n".join(lines)


def _attachment(result: ScanResult) -> Attachment:
    rows = [(r.report.host, r.report.cluster, f"{r.report.percent_used:.1f}", r.report.in_use,
             r.report.limit.runtime, r.report.version.build if r.report.version else None,
             r.report.fix.available, r.assessment.risk.value, r.assessment.action.value,
             r.report.fds.count) for r in result.rows]
    return Attachment(filename=f"aio-scan-{result.scope}.csv",
                      title=f"AIO handle use, scan of {result.scope}",
                      content=to_csv(CSV_HEADERS, rows),
                      comment=f"All {len(rows)} scanned hosts, most used first.")


KEYS_SHOWN = 40


def host_keys_message(result: ScanResult, user_id: str, words: str) -> Message | None:
    """One message for the hosts whose SSH host key is not on record or has changed: each
    with its SHA256 fingerprint, and the `aio-bot known-hosts` commands to run on the bot's
    machine after checking them (nothing is added from chat). None when there are none."""
    keys = [f for f in result.failures if f.key_status is not None]
    if not keys:
        return None
    lines = [f"• *{esc(f.host)}*: {f.key_status} key `{esc(f.fingerprint or '?')}`"
             for f in keys[:KEYS_SHOWN]]
    if len(keys) > KEYS_SHOWN:
        lines.append(f"… and {len(keys) - KEYS_SHOWN} more")
    changed = [f.host for f in keys if f.key_status == "CHANGED"]
    names = [f.host for f in keys if f.key_status != "REVOKED"]
    blocks: list[Block] = [
        HeaderBlock(text=clip(f"SSH host keys to confirm: {len(keys)} host(s)", 150)),
        SectionBlock(text=mrkdwn(messages.host_keys_to_confirm(len(keys)))),
        SectionBlock(text=mrkdwn("\n".join(lines))),
    ]
    if names:
        commands = messages.host_keys_commands(names, changed)
        blocks.append(SectionBlock(text=mrkdwn(f"```{esc(clip(commands, 2900))}```")))
    if changed or any(f.key_status == "REVOKED" for f in keys):
        blocks.append(ContextBlock(elements=[mrkdwn(messages.host_keys_changed_note())]))
    blocks.append(asked_by(user_id, words))
    text = f"SSH host keys to confirm on {len(keys)} host(s) (asked by <@{user_id}>)"
    return Message.build(text, blocks)
