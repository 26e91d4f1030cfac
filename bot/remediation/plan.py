"""Remediation plans: the steps KB 408376 prescribes for one host, each with its reason and
expected effect. Pure data; `bot.remediation.planner` builds them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from bot.vsphere.api import bios_uuid_from_esxcli


class StepKind(StrEnum):
    RAISE_LIMIT = "raise-limit"
    REBOOT = "reboot"
    MIGRATE = "migrate"
    POWER_OFF = "power-off"


@dataclass(frozen=True)
class Step:
    """One change. `vm` and `target` are set for migrations; `vm` for power-offs.

    `vm_uuid` (BIOS UUID) and `cartel_id` identify the VM as it was when proposed, so the
    executor can tell if it moved or restarted before approval."""

    kind: StepKind
    host: str
    reason: str
    effect: str
    vm: str | None = None
    vm_uuid: str | None = None
    target: str | None = None
    handles: int = 0
    hard: bool = False
    world_id: int | None = None  # the VM's world when proposed: the same process when acted on
    vgpu_profile: str | None = None  # vCenter's facts about the VM when proposed (shown only)
    power_state: str | None = None

    @property
    def vm_facts(self) -> str:
        """`grid_a100-10c, poweredOn`, or "" when vCenter said nothing of the VM."""
        return ", ".join(f for f in (self.vgpu_profile, self.power_state) if f)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        return cls(**{**data, "kind": StepKind(data["kind"])})

    @property
    def destructive(self) -> bool:
        """Steps that interrupt guests: they get a danger button and a confirm dialog."""
        return self.kind in (StepKind.REBOOT, StepKind.POWER_OFF)


def with_vm_facts(plan: Plan, vms: dict[str, tuple[str | None, str]]) -> Plan:
    """`plan` with each VM step's vGPU profile and power state from vCenter (by BIOS UUID:
    `vms` maps canonical UUIDs to (profile, power state))."""
    def facts(step: Step) -> Step:
        try:
            found = vms.get(bios_uuid_from_esxcli(step.vm_uuid or ""))
        except ValueError:
            found = None
        if found is None:
            return step
        return replace(step, vgpu_profile=found[0], power_state=found[1])

    return replace(plan, steps=[facts(s) if s.vm else s for s in plan.steps])


@dataclass(frozen=True)
class Plan:
    host: str
    title: str
    steps: list[Step]
    notes: list[str] = field(default_factory=list)

    @property
    def destructive(self) -> bool:
        return any(s.destructive for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "title": self.title,
                "steps": [s.to_json() for s in self.steps], "notes": self.notes}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(data["host"], data["title"], [Step.from_json(s) for s in data["steps"]],
                   list(data.get("notes", [])))
