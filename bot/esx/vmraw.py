"""One VM as read from any form of `esxcli vm process list`, before it is checked, and the
checks that make it a `VmProcess` or a skipped entry.

A VM is identified only by a block that says each thing once: a block with a field twice
(a VM named `evil-vm\\n   UUID: <another VM's UUID>` makes its text block hold two UUID
lines) is rejected, and so are all blocks that claim the same World ID, VMX Cartel ID or
UUID as another block. Rejected blocks are reported, never used to name a VM.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from bot.esx.records import SkippedLine, VmProcess

LABELS = {
    "worldid": "World ID",
    "processid": "Process ID",
    "vmxcartelid": "VMX Cartel ID",
    "uuid": "UUID",
    "displayname": "Display Name",
    "configfile": "Config File",
}
_INTEGER = re.compile(r"[0-9]{1,18}")


def key(label: str) -> str:
    """`VMX Cartel ID` and `VMXCartelID` both become `vmxcartelid`."""
    return "".join(label.split()).lower()


@dataclass
class RawVm:
    """A block (text), a structure (XML), a row (CSV) or an object (JSON)."""

    line_no: int
    title: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    twice: list[str] = field(default_factory=list)

    def put(self, name: str, value: str) -> None:
        k = key(name)
        if k in self.fields and k in LABELS:
            self.twice.append(LABELS[k])
        self.fields.setdefault(k, value)

    def shown(self) -> str:
        return self.title or self.fields.get("displayname") or f"the VM at line {self.line_no}"


def checked(raws: list[RawVm]) -> tuple[list[VmProcess], list[SkippedLine]]:
    """The VMs that identify themselves unambiguously, and why the others were rejected."""
    vms: list[tuple[RawVm, VmProcess]] = []
    skipped: list[SkippedLine] = []
    for raw in raws:
        vm_or_why = _vm(raw)
        if isinstance(vm_or_why, str):
            skipped.append(SkippedLine(raw.line_no, raw.shown(), vm_or_why))
        else:
            vms.append((raw, vm_or_why))
    clashes = _clashes([vm for _, vm in vms])
    kept = []
    for raw, vm in vms:
        if id(vm) in clashes:
            skipped.append(SkippedLine(raw.line_no, raw.shown(), clashes[id(vm)]))
        else:
            kept.append(vm)
    skipped.sort(key=lambda s: s.line_no)
    return kept, skipped


def _vm(raw: RawVm) -> VmProcess | str:
    if raw.twice:
        return (f"the block has {raw.twice[0]} twice (a VM name with a line break can forge "
                "fields): not used to identify any VM")
    world, cartel = raw.fields.get("worldid"), raw.fields.get("vmxcartelid")
    for label, value in (("World ID", world), ("VMX Cartel ID", cartel)):
        if value is None:
            return f"the VM has no {label}"
        if not _INTEGER.fullmatch(value):
            return f"{label} is not a number"
    process = raw.fields.get("processid")
    display = raw.fields.get("displayname")
    name = display or raw.title or ""
    assert world is not None and cartel is not None
    return VmProcess(
        name=name,
        world_id=int(world),
        cartel_id=int(cartel),
        process_id=int(process) if process and _INTEGER.fullmatch(process) else None,
        uuid=raw.fields.get("uuid") or None,
        config_file=raw.fields.get("configfile") or None,
        title=raw.title if raw.title is not None and raw.title != name else None,
    )


def _clashes(vms: list[VmProcess]) -> dict[int, str]:
    """{id(vm): why} for every VM that shares a World ID, VMX Cartel ID or UUID."""
    claims: dict[tuple[str, object], list[VmProcess]] = defaultdict(list)
    for vm in vms:
        claims[("World ID", vm.world_id)].append(vm)
        claims[("VMX Cartel ID", vm.cartel_id)].append(vm)
        if vm.uuid:
            claims[("UUID", vm.uuid.lower())].append(vm)
    found: dict[int, str] = {}
    for (label, _), holders in claims.items():
        if len(holders) > 1:
            for vm in holders:
                found.setdefault(id(vm), f"another block claims the same {label}: not used to "
                                         "identify any VM")
    return found
