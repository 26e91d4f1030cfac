"""The one seam to vCenter: plain records in, plain records out.

Two implementations: `bot.vsphere.client.PyVmomiVCenter` (real vCenter through pyVmomi,
every blocking call in a worker thread, every task waited on with a deadline) and
`bot.sim.vcenter.SimVCenter` (the demo fleet's stand-in, consistent with the simulated hosts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from bot.errors import AmbiguousVm, VmNotFound

PowerState = Literal["poweredOn", "poweredOff", "suspended"]


@dataclass(frozen=True, slots=True)
class VcHost:
    name: str
    moref: str
    cluster: str | None
    in_maintenance: bool
    connected: bool
    vgpu_profiles: tuple[str, ...]  # what its GPUs offer (config.sharedPassthruGpuTypes)


@dataclass(frozen=True, slots=True)
class VcVm:
    name: str
    moref: str
    bios_uuid: str  # config.uuid, canonical 8-4-4-4-12 lower-case
    power_state: PowerState
    host: str | None  # the host's name
    vgpu_profiles: tuple[str, ...]
    migrate_supported: bool  # every vGPU backing says migrateSupported


@dataclass(frozen=True, slots=True)
class VcInventory:
    """Hosts and VMs read in bulk; `host` and `vms_on` look up by name (case-insensitive)
    in indexes built once, not by a pass over every VM (a 1,000-host estate has 20,000 VMs,
    and every host view asks)."""

    hosts: tuple[VcHost, ...]
    vms: tuple[VcVm, ...]
    hotmigrate_enabled: bool  # vCenter advanced setting vgpu.hotmigrate.enabled
    _hosts_by_name: dict[str, VcHost] = field(init=False, repr=False, compare=False)
    _vms_by_host: dict[str, list[VcVm]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        hosts: dict[str, VcHost] = {}
        for h in self.hosts:
            hosts.setdefault(h.name.lower(), h)  # the first of a name, as a search would
        on: dict[str, list[VcVm]] = {}
        for v in self.vms:
            if v.host:
                on.setdefault(v.host.lower(), []).append(v)
        object.__setattr__(self, "_hosts_by_name", hosts)
        object.__setattr__(self, "_vms_by_host", on)

    def host(self, name: str) -> VcHost | None:
        return self._hosts_by_name.get(name.lower())

    def vms_on(self, host: str) -> list[VcVm]:
        return list(self._vms_by_host.get(host.lower(), ()))


class VCenter(Protocol):
    async def inventory(self) -> VcInventory:
        """Hosts, clusters and VMs in bulk (one PropertyCollector round trip, not per VM)."""
        ...

    async def find_vm_by_uuid(self, bios_uuid: str) -> VcVm:
        """The VM with this BIOS UUID; VmNotFound, or AmbiguousVm when several match."""
        ...

    async def relocate(self, vm: VcVm, target_host: str, *, deadline: float) -> VcVm:
        """vMotion `vm` to `target_host` (its cluster's resource pool); the VM afterwards."""
        ...

    async def shutdown_guest(self, vm: VcVm, *, deadline: float) -> VcVm:
        """Ask the guest OS to shut down and wait until it is off."""
        ...

    async def power_off(self, vm: VcVm, *, deadline: float) -> VcVm:
        """Hard power-off."""
        ...

    async def enter_maintenance(self, host: str, *, deadline: float) -> None: ...

    async def exit_maintenance(self, host: str, *, deadline: float) -> None: ...

    async def close(self) -> None: ...


def only_vm(found: list[VcVm], operation: str) -> VcVm:
    """The one VM a BIOS UUID search found; VmNotFound or AmbiguousVm otherwise (acting on a
    guess between several VMs is never right)."""
    if not found:
        raise VmNotFound(operation, "no VM has it")
    if len(found) > 1:
        names = ", ".join(sorted(v.name for v in found))
        raise AmbiguousVm(operation, f"{len(found)} VMs have it: {names}; refusing to guess")
    return found[0]


def bios_uuid_from_esxcli(text: str) -> str:
    """`56 4d 48 08 86 8b 8f 67-a5 4a 33 f3 87 a8 d0 59` (esxcli) to
    `564d4808-868b-8f67-a54a-33f387a8d059` (vSphere `config.uuid`)."""
    digits = "".join(c for c in text.lower() if c in "0123456789abcdef")
    if len(digits) != 32:
        raise ValueError(f"not a BIOS UUID: {text!r}")
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
