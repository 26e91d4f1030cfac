"""`PyVmomiVCenter`: the VCenter seam on a real vCenter through pyVmomi.

Every blocking call runs in a worker thread (`asyncio.to_thread`) and gives up by itself:
sockets time out after `request_timeout`, tasks and guest shutdowns are polled until the
caller's deadline (the event loop's clock, i.e. `time.monotonic()`)."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from pyVmomi import vim

from bot.errors import VCenterError, VmNotFound
from bot.vsphere import collect, records
from bot.vsphere.api import VcInventory, VcVm, only_vm
from bot.vsphere.session import Conn, Session
from bot.vsphere.settings import VCenterSettings
from bot.vsphere.tasks import remaining, wait_for_task, wait_powered_off
from bot.vsphere.vmodl_data import data

T = TypeVar("T")
HOTMIGRATE = "vgpu.hotmigrate.enabled"


class PyVmomiVCenter:
    """One vCenter, one session (logged in on first use, again when it expires)."""

    def __init__(self, settings: VCenterSettings) -> None:
        self.settings = settings
        self.session = Session(settings)

    async def inventory(self) -> VcInventory:
        return await asyncio.to_thread(self._inventory)

    async def find_vm_by_uuid(self, bios_uuid: str) -> VcVm:
        return await asyncio.to_thread(self._find_vm_by_uuid, bios_uuid)

    async def relocate(self, vm: VcVm, target_host: str, *, deadline: float) -> VcVm:
        return await self._until(deadline, lambda d: self._relocate(vm, target_host, d))

    async def shutdown_guest(self, vm: VcVm, *, deadline: float) -> VcVm:
        return await self._until(deadline, lambda d: self._shutdown_guest(vm, d))

    async def power_off(self, vm: VcVm, *, deadline: float) -> VcVm:
        return await self._until(deadline, lambda d: self._power_off(vm, d))

    async def enter_maintenance(self, host: str, *, deadline: float) -> None:
        await self._until(deadline, lambda d: self._maintenance(host, True, d))

    async def exit_maintenance(self, host: str, *, deadline: float) -> None:
        await self._until(deadline, lambda d: self._maintenance(host, False, d))

    async def close(self) -> None:
        await asyncio.to_thread(self.session.close)

    async def _until(self, deadline: float, fn: Callable[[float], T]) -> T:
        """Run `fn(monotonic deadline)` in a thread; `deadline` is on the loop's clock."""
        left = deadline - asyncio.get_running_loop().time()
        return await asyncio.to_thread(fn, time.monotonic() + left)

    # --- blocking parts, run in worker threads ------------------------------------------

    def _inventory(self) -> VcInventory:
        paths: dict[type, Sequence[str]] = {
            vim.HostSystem: records.HOST_PATHS,
            vim.VirtualMachine: records.VM_PATHS,
            vim.ClusterComputeResource: records.CLUSTER_PATHS,
        }
        found = self.session.call("read the inventory", lambda c: collect.from_view(c, paths))
        clusters = {o.moref: str(o.get("name")) for o in found
                    if isinstance(o.ref, vim.ClusterComputeResource)}
        hosts = records.hosts([o for o in found if isinstance(o.ref, vim.HostSystem)], clusters)
        names = {h.moref: h.name for h in hosts}
        vms = records.vms([o for o in found if isinstance(o.ref, vim.VirtualMachine)], names)
        hotmigrate = self.session.call(f"read {HOTMIGRATE}", _hotmigrate)
        return VcInventory(hosts=tuple(hosts), vms=tuple(vms), hotmigrate_enabled=hotmigrate)

    def _find_vm_by_uuid(self, bios_uuid: str) -> VcVm:
        uuid = records.canonical_uuid(bios_uuid)
        op = f"find the VM with BIOS UUID {uuid}"
        found = self.session.call(op, lambda c: _read_vms(c, _find_all_by_uuid(c, uuid)))
        return only_vm(found, op)

    def _relocate(self, vm: VcVm, target: str, deadline: float) -> VcVm:
        op = f"move {vm.name} to {target}"
        remaining(deadline, op)
        host, pool = self.session.call(op, lambda c: _host_and_pool(c, target, op))

        def start(c: Conn) -> str:
            spec = data(vim.vm.RelocateSpec, host=c.bind(vim.HostSystem, host),
                        pool=c.bind(vim.ResourcePool, pool))
            return str(c.bind(vim.VirtualMachine, vm.moref).RelocateVM_Task(spec)._moId)

        self._wait(op, self.session.call(op, start), deadline)
        return self._read_vm(op, vm.moref)

    def _shutdown_guest(self, vm: VcVm, deadline: float) -> VcVm:
        op = f"shut down the guest of {vm.name}"
        remaining(deadline, op)
        if self._read_vm(op, vm.moref).power_state == "poweredOff":
            return self._read_vm(op, vm.moref)
        self.session.call(op, lambda c: c.bind(vim.VirtualMachine, vm.moref).ShutdownGuest())
        wait_powered_off(self.session, op, vm.moref, deadline, self.settings.poll_interval)
        return self._read_vm(op, vm.moref)

    def _power_off(self, vm: VcVm, deadline: float) -> VcVm:
        op = f"power off {vm.name}"
        remaining(deadline, op)
        current = self._read_vm(op, vm.moref)
        if current.power_state == "poweredOff":
            return current

        def start(c: Conn) -> str:
            return str(c.bind(vim.VirtualMachine, vm.moref).PowerOffVM_Task()._moId)

        self._wait(op, self.session.call(op, start), deadline)
        return self._read_vm(op, vm.moref)

    def _maintenance(self, name: str, enter: bool, deadline: float) -> None:
        op = f"{'enter' if enter else 'exit'} maintenance mode on {name}"
        left = remaining(deadline, op)
        host, _ = self.session.call(op, lambda c: _host_and_pool(c, name, op, pool=False))
        # vCenter's own timeout too, so it stops trying when we stop waiting
        seconds = max(1, math.floor(left))

        def start(c: Conn) -> str:
            h = c.bind(vim.HostSystem, host)
            task = (h.EnterMaintenanceMode_Task(timeout=seconds) if enter
                    else h.ExitMaintenanceMode_Task(timeout=seconds))
            return str(task._moId)

        self._wait(op, self.session.call(op, start), deadline)

    def _wait(self, op: str, task: str, deadline: float) -> None:
        wait_for_task(self.session, op, task, deadline, self.settings.poll_interval)

    def _read_vm(self, op: str, moref: str) -> VcVm:
        found = self.session.call(op, lambda c: _read_vms(c, [c.bind(vim.VirtualMachine, moref)]))
        if not found:
            raise VmNotFound(op, f"VM {moref} is gone")
        return found[0]


def _hotmigrate(conn: Conn) -> bool:
    manager = conn.content.setting
    if manager is None:
        return False
    try:
        return records.hotmigrate_value(manager.QueryOptions(name=HOTMIGRATE))
    except vim.fault.InvalidName:
        return False


def _find_all_by_uuid(conn: Conn, uuid: str) -> list[vim.VirtualMachine]:
    index = conn.content.searchIndex
    assert index is not None
    found = index.FindAllByUuid(datacenter=None, uuid=uuid, vmSearch=True, instanceUuid=False)
    return [v for v in found if isinstance(v, vim.VirtualMachine)]


def _read_vms(conn: Conn, vms: list[vim.VirtualMachine]) -> list[VcVm]:
    """VM records, with their hosts' names (two PropertyCollector round trips)."""
    found = collect.of_objects(conn, vms, records.VM_PATHS)
    hosts = {str(h._moId): h for o in found if (h := o.get("runtime.host")) is not None}
    names = {o.moref: str(o.get("name")) for o in collect.of_objects(conn, hosts.values(),
                                                                      ["name"])}
    return records.vms(found, names)


def _host_and_pool(conn: Conn, name: str, op: str, *, pool: bool = True) -> tuple[str, str]:
    """Morefs of the host called `name` and of its cluster's (or compute resource's) root
    resource pool (the latter "" when `pool` is False)."""
    hosts = collect.from_view(conn, {vim.HostSystem: ["name", "parent"]})
    match = [o for o in hosts if str(o.get("name")).lower() == name.lower()]
    if len(match) != 1:
        raise VCenterError(op, f"vCenter knows {len(match) or 'no'} host named {name}")
    if not pool:
        return match[0].moref, ""
    parent = match[0].get("parent")
    pools = collect.of_objects(conn, [parent], ["resourcePool"]) if parent is not None else []
    rp = pools[0].get("resourcePool") if pools else None
    if rp is None:
        raise VCenterError(op, f"{name} has no resource pool to move into")
    return match[0].moref, str(rp._moId)
