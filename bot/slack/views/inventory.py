"""`inventory`: the hosts with their source and state, as a native table (a CSV file in
the thread past 99 rows)."""

from __future__ import annotations

from collections import Counter

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from bot.inventory import HostEntry
from bot.slack.views.common import Attachment, Message, asked_by, clip, esc, mrkdwn
from bot.slack.views.tables import MAX_DATA_ROWS, table_block, to_csv
from commands.host_results import InventoryResult

HEADERS = ("host", "cluster", "address", "source", "state", "GPU")
CSV_HEADERS = ("host", "cluster", "datacenter", "address", "port", "source",
               "connection_state", "in_maintenance", "has_gpu")


def inventory_message(result: InventoryResult, user_id: str, words: str) -> Message:
    hosts = result.hosts
    blocks: list[Block] = [
        HeaderBlock(text=clip(f"Inventory: {len(hosts)} host(s) from {result.source}", 150)),
        SectionBlock(text=mrkdwn(_summary(result))),
    ]
    if hosts:
        blocks.append(table_block(HEADERS, [_row(h) for h in hosts]))
    if len(hosts) > MAX_DATA_ROWS:
        blocks.append(ContextBlock(elements=[mrkdwn(
            f"The table shows {MAX_DATA_ROWS} of {len(hosts)} hosts; all of them are in the CSV "
            "file in the thread.")]))
    blocks.append(asked_by(user_id, words))
    text = f"Inventory: {len(hosts)} host(s) from {esc(result.source)} (asked by <@{user_id}>)"
    return Message.build(text, blocks, _attachment(result) if len(hosts) > MAX_DATA_ROWS
                         else None)


def state(host: HostEntry) -> str:
    if host.source == "file":
        return "-"  # not known: vCenter was not asked
    return host.connection_state + (", maintenance" if host.in_maintenance else "")


def _summary(result: InventoryResult) -> str:
    states = Counter(h.connection_state for h in result.hosts if h.source != "file")
    parts = [f"{n} {esc(s)}" for s, n in sorted(states.items())]
    if maintenance := sum(1 for h in result.hosts if h.in_maintenance and h.source != "file"):
        parts.append(f"{maintenance} in maintenance mode")
    if result.refreshed_at is not None:
        stamp = int(result.refreshed_at.timestamp())
        when = (f"discovered in vCenter <!date^{stamp}^{{date_short_pretty}} {{time}}|"
                f"{result.refreshed_at:%Y-%m-%d %H:%M} UTC>")
        parts.append(("just " if result.refreshed_now else "") + when)
    else:
        parts.append("from the configuration's [[hosts]]")
    return " · ".join(parts)


def _row(h: HostEntry) -> list[str | int]:
    gpu = {True: "yes", False: "no", None: "?"}[h.has_gpu]
    return [h.name, h.cluster, f"{h.address}:{h.port}", h.source, state(h), gpu]


def _attachment(result: InventoryResult) -> Attachment:
    rows = [(h.name, h.cluster, h.datacenter, h.address, h.port, h.source,
             h.connection_state, h.in_maintenance, h.has_gpu) for h in result.hosts]
    return Attachment(filename="aio-inventory.csv", title="aio-bot inventory",
                      content=to_csv(CSV_HEADERS, rows),
                      comment=f"All {len(rows)} hosts.")
