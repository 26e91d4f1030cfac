"""From PropertyCollector results to the plain records of `bot.vsphere.api`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast, get_args

from pyVmomi import vim

from bot.vsphere.api import PowerState, VcHost, VcVm, bios_uuid_from_esxcli
from bot.vsphere.collect import Obj

log = logging.getLogger(__name__)

HOST_PATHS = ("name", "parent", "runtime.inMaintenanceMode", "runtime.connectionState",
              "config.sharedPassthruGpuTypes")
VM_PATHS = ("name", "config.uuid", "runtime.powerState", "runtime.host",
            "config.hardware.device")
CLUSTER_PATHS = ("name",)
Vmiop = vim.vm.device.VirtualPCIPassthrough.VmiopBackingInfo


def vgpu_backings(devices: Iterable[object]) -> list[Vmiop]:
    """The vGPU backings among a VM's devices (VirtualPCIPassthrough with VmiopBackingInfo)."""
    return [d.backing for d in devices
            if isinstance(d, vim.vm.device.VirtualPCIPassthrough) and isinstance(d.backing, Vmiop)]


def vgpu_summary(devices: Iterable[object]) -> tuple[tuple[str, ...], bool]:
    """(profiles, migrate_supported): every backing's profile, and whether every backing says
    `migrateSupported` (unset counts as no; a VM without vGPU can always move)."""
    backings = vgpu_backings(devices)
    profiles = tuple(b.vgpu for b in backings if b.vgpu)
    return profiles, all(bool(b.migrateSupported) for b in backings)


def canonical_uuid(text: str) -> str:
    """config.uuid in canonical 8-4-4-4-12 lower case (as given when it is not 32 hex)."""
    try:
        return bios_uuid_from_esxcli(text)
    except ValueError:
        return text.strip().lower()


def power_state(value: object) -> PowerState:
    text = str(value)
    if text not in get_args(PowerState):
        raise ValueError(f"unknown power state {text!r}")
    return cast(PowerState, text)


def hosts(found: Sequence[Obj], clusters: Mapping[str, str]) -> list[VcHost]:
    """Host records; `clusters` maps cluster moref to name."""
    out = []
    for o in found:
        parent = o.get("parent")
        out.append(VcHost(
            name=str(o.get("name", o.moref)),
            moref=o.moref,
            cluster=clusters.get(str(parent._moId)) if parent is not None else None,
            in_maintenance=bool(o.get("runtime.inMaintenanceMode", False)),
            connected=str(o.get("runtime.connectionState", "")) == "connected",
            vgpu_profiles=tuple(o.get("config.sharedPassthruGpuTypes") or ()),
        ))
    return out


def vm(o: Obj, host_names: Mapping[str, str]) -> VcVm | None:
    """A VM record; None for a VM without a configuration (inaccessible, orphaned)."""
    uuid = o.get("config.uuid")
    if not uuid:
        log.debug("skipping VM %s: no config.uuid", o.moref)
        return None
    host: Any = o.get("runtime.host")
    profiles, migrate = vgpu_summary(o.get("config.hardware.device") or ())
    return VcVm(
        name=str(o.get("name", o.moref)),
        moref=o.moref,
        bios_uuid=canonical_uuid(str(uuid)),
        power_state=power_state(o.get("runtime.powerState")),
        host=host_names.get(str(host._moId)) if host is not None else None,
        vgpu_profiles=profiles,
        migrate_supported=migrate,
    )


def vms(found: Sequence[Obj], host_names: Mapping[str, str]) -> list[VcVm]:
    return [r for r in (vm(o, host_names) for o in found) if r is not None]


def hotmigrate_value(values: Sequence[vim.option.OptionValue]) -> bool:
    """`vgpu.hotmigrate.enabled` from QueryOptions' answer (a string or a bool)."""
    for option in values:
        if option.key == "vgpu.hotmigrate.enabled":
            value = option.value
            return value if isinstance(value, bool) else str(value).strip().lower() == "true"
    return False
