"""`top`: the host picture, its VMs ranked by handles as a native table, and buttons."""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ContextBlock

from bot.assess import Action, Assessment
from bot.esx.report import VmUsage
from bot.slack.views.common import Attachment, Message, asked_by, esc, mrkdwn
from bot.slack.views.host import host_blocks, verdict
from bot.slack.views.tables import MAX_DATA_ROWS, table_block, to_csv
from commands.host_results import HostFacts
from commands.results import TopResult

REFRESH = "refresh"
PROPOSE_FIX = "propose_fix"
MOVE_VM = "open_move_vm"  # opens the Move a VM modal for the host (value)
POWER_OFF = "open_power_off"  # opens the Power off a VM modal for the host (value)
HEADERS = ("#", "VM", "cartel", "world", "vmgfx", "CHAR")
VCENTER_HEADERS = ("vGPU profile", "power")  # with vCenter
CSV_HEADERS = ("rank", "vm", "cartel_id", "world_id", "uuid", "vmgfx_handles", "char_handles")


def top_message(result: TopResult, user_id: str, words: str, verb: str = "Asked by") -> Message:
    report, shown = result.report, result.shown
    facts = result.vcenter
    blocks: list[Block] = host_blocks(report, result.assessment, facts)
    headers = HEADERS + (VCENTER_HEADERS if facts is not None else ())
    blocks.append(table_block(headers, [_row(vm, facts) for vm in shown],
                              right=frozenset({0, 2, 3, 4, 5})))
    notes = _notes(len(shown), len(report.vms), result.limit)
    if notes:
        blocks.append(ContextBlock(elements=[mrkdwn(notes)]))
    blocks += [verdict(result.assessment),
               buttons(report.host, words, result.assessment, has_vms=any(
                   vm.name for vm in report.vms)),
               asked_by(user_id, words, verb)]
    text = f"{esc(result.assessment.summary)} (asked by <@{user_id}>)"
    return Message.build(text, blocks, _attachment(result) if len(shown) > MAX_DATA_ROWS else None)


def buttons(host: str, words: str, assessment: Assessment, *,
            has_vms: bool = False) -> ActionsBlock:
    """`Refresh` re-runs the same words; `Propose fix` when there is something to fix;
    `Move a VM…` and `Power off…` open modals to pick one of the host's VMs."""
    elements = [ButtonElement(text="Refresh", action_id=REFRESH, value=words[:2000])]
    if assessment.action is not Action.NONE:
        elements.append(ButtonElement(text="Propose fix", action_id=PROPOSE_FIX, value=host,
                                      style="primary"))
    if has_vms:
        elements += [ButtonElement(text="Move a VM…", action_id=MOVE_VM, value=host),
                     ButtonElement(text="Power off…", action_id=POWER_OFF, value=host)]
    return ActionsBlock(block_id="host_actions", elements=elements)


def _row(vm: VmUsage, facts: HostFacts | None = None) -> list[str | int]:
    row: list[str | int] = [vm.rank, vm.name or "(unknown)", vm.cartel_id,
                            vm.world_id if vm.world_id is not None else "-", vm.vmgfx_handles,
                            vm.char_handles]
    if facts is not None:
        vc = facts.vm(vm)  # joined by BIOS UUID; "?": vCenter has no VM with it
        row += [", ".join(vc.vgpu_profiles) or "-", vc.power_state] if vc else ["?", "?"]
    return row


def _notes(shown: int, total: int, limit: int) -> str:
    notes = []
    if shown > MAX_DATA_ROWS:
        notes.append(f"The table shows the first {MAX_DATA_ROWS} of {shown} rows; all of them "
                     "are in the CSV file in the thread.")
    if total > shown:
        notes.append(f"{total - shown} more VM(s) hold fewer handles (limit={limit}).")
    return " ".join(notes)


def _attachment(result: TopResult) -> Attachment:
    rows = [(vm.rank, vm.name, vm.cartel_id, vm.world_id, vm.uuid, vm.vmgfx_handles,
             vm.char_handles) for vm in result.shown]
    host = result.report.host
    return Attachment(filename=f"aio-top-{host}.csv", title=f"AIO handles by VM on {host}",
                      content=to_csv(CSV_HEADERS, rows),
                      comment=f"All {len(rows)} ranked VMs of {esc(host)}.")
