"""ESXi hosts from vCenter's inventory, in one PropertyCollector round trip.

One ContainerView over the root folder yields the hosts, their compute resources (clusters
or standalone), the folders and datacenters above them and, unless turned off, the VMs (for
"runs a VM with a vGPU profile"); the view is destroyed afterwards (`collect.from_view`).
Everything blocking runs in a worker thread through the vCenter session, whose sockets time
out after `request_timeout`."""

from __future__ import annotations

import asyncio
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyVmomi import vim

from bot.errors import ConfigError
from bot.vsphere import collect
from bot.vsphere.collect import Obj
from bot.vsphere.records import vgpu_backings
from bot.vsphere.session import Session

HOST_PATHS = ("name", "parent", "runtime.connectionState", "runtime.inMaintenanceMode",
              "runtime.powerState", "config.product.version", "config.sharedPassthruGpuTypes",
              "config.graphicsInfo")
VM_PATHS = ("runtime.host", "runtime.powerState", "config.hardware.device")


@dataclass(frozen=True, slots=True)
class DiscoveredHost:
    """One ESXi host as vCenter knows it."""

    name: str  # what vCenter calls it: usually the name or address it connects to
    moref: str
    address: str  # where SSH should go (the name, or the address template applied to it)
    cluster: str | None  # None: a standalone host
    datacenter: str | None
    connection_state: str  # connected, disconnected, notResponding
    in_maintenance: bool
    power_state: str  # poweredOn, poweredOff, standBy, unknown
    vgpu_profiles: tuple[str, ...]  # config.sharedPassthruGpuTypes
    gpus: tuple[str, ...]  # config.graphicsInfo device names
    vgpu_vms: int  # powered-on VMs on it with a vGPU profile
    version: str | None  # config.product.version; None: vCenter has no config for it

    @property
    def connected(self) -> bool:
        return self.connection_state == "connected"

    @property
    def has_gpu(self) -> bool | None:
        """True: GPUs for vGPU; False: none; None: unknown (no config from vCenter)."""
        if self.vgpu_profiles or self.gpus or self.vgpu_vms:
            return True
        return False if self.version is not None else None


@dataclass(frozen=True, slots=True)
class DiscoveryFilter:
    """Which hosts to keep, and how to reach them.

    `clusters`, `datacenters`: names (case-insensitive); empty keeps all. `gpu_only` keeps
    hosts with GPUs for vGPU, and hosts whose GPUs vCenter cannot tell (shown, not dropped).
    `address_template` turns vCenter's name into the SSH address (`{name}`, the default, or
    e.g. `{name}.mgmt.example.com`). `read_vms` also counts powered-on vGPU VMs per host (it
    reads every VM's devices: turn it off on very large estates if profiles suffice)."""

    clusters: tuple[str, ...] = ()
    datacenters: tuple[str, ...] = ()
    gpu_only: bool = True
    address_template: str = "{name}"
    read_vms: bool = True

    def __post_init__(self) -> None:
        check_address_template(self.address_template)

    def keeps(self, host: DiscoveredHost) -> bool:
        if self.clusters and (host.cluster or "").lower() not in _lower(self.clusters):
            return False
        if self.datacenters and (host.datacenter or "").lower() not in _lower(self.datacenters):
            return False
        return not (self.gpu_only and host.has_gpu is False)


def check_address_template(template: str) -> None:
    """ConfigError unless `template` uses `{name}` and nothing else in braces."""
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError:
        fields = set()
    if fields != {"name"}:
        raise ConfigError("`inventory.address_template` must use {name} and nothing else "
                          f"in braces, not {template!r}.")


def _lower(names: Sequence[str]) -> set[str]:
    return {n.strip().lower() for n in names}


async def discover_hosts(session: Session,
                         filters: DiscoveryFilter | None = None) -> list[DiscoveredHost]:
    """The ESXi hosts vCenter knows that pass `filters`, sorted by name."""
    return await asyncio.to_thread(discover_hosts_blocking, session, filters or DiscoveryFilter())


def discover_hosts_blocking(session: Session, filters: DiscoveryFilter) -> list[DiscoveredHost]:
    paths: dict[type, Sequence[str]] = {
        vim.HostSystem: HOST_PATHS,
        vim.ComputeResource: ("name", "parent"),  # clusters too (a subtype)
        vim.Folder: ("parent",),
        vim.Datacenter: ("name",),
    }
    if filters.read_vms:
        paths[vim.VirtualMachine] = VM_PATHS
    found = session.call("discover ESXi hosts", lambda c: collect.from_view(c, paths))
    hosts = hosts_from(found, filters.address_template)
    return sorted((h for h in hosts if filters.keeps(h)), key=lambda h: h.name.lower())


def hosts_from(found: Sequence[Obj], address_template: str = "{name}") -> list[DiscoveredHost]:
    """Host records from one view's objects (hosts, compute resources, folders, datacenters,
    VMs)."""
    parents = {o.moref: o for o in found if not isinstance(o.ref, vim.HostSystem)}
    vgpu_vms = _vgpu_vms_by_host(o for o in found if isinstance(o.ref, vim.VirtualMachine))
    out = []
    for o in found:
        if not isinstance(o.ref, vim.HostSystem):
            continue
        name = str(o.get("name", o.moref))
        graphics = o.get("config.graphicsInfo")
        profiles = o.get("config.sharedPassthruGpuTypes")
        out.append(DiscoveredHost(
            name=name,
            moref=o.moref,
            address=address_template.format(name=name),
            cluster=_cluster(o.get("parent"), parents),
            datacenter=_datacenter(o.get("parent"), parents),
            connection_state=str(o.get("runtime.connectionState") or "unknown"),
            in_maintenance=bool(o.get("runtime.inMaintenanceMode", False)),
            power_state=str(o.get("runtime.powerState") or "unknown"),
            vgpu_profiles=tuple(str(p) for p in profiles or ()),
            gpus=tuple(str(g.deviceName) for g in graphics or ()),
            vgpu_vms=vgpu_vms.get(o.moref, 0),
            version=str(v) if (v := o.get("config.product.version")) is not None else None,
        ))
    return out


def _cluster(parent: Any, objs: Mapping[str, Obj]) -> str | None:
    if isinstance(parent, vim.ClusterComputeResource):
        o = objs.get(str(parent._moId))
        return str(o.get("name")) if o is not None else None
    return None


def _datacenter(ref: Any, objs: Mapping[str, Obj]) -> str | None:
    """Up the parents to the datacenter (folders may nest)."""
    for _ in range(64):  # no loops in a real tree; a bound all the same
        if ref is None:
            return None
        o = objs.get(str(ref._moId))
        if o is None:
            return None
        if isinstance(o.ref, vim.Datacenter):
            return str(o.get("name"))
        ref = o.get("parent")
    return None


def _vgpu_vms_by_host(vms: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in vms:
        host = o.get("runtime.host")
        if host is None or str(o.get("runtime.powerState")) != "poweredOn":
            continue
        if any(b.vgpu for b in vgpu_backings(o.get("config.hardware.device") or ())):
            counts[str(host._moId)] = counts.get(str(host._moId), 0) + 1
    return counts
