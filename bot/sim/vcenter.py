"""`SimVCenter`: the VCenter seam on the simulated hosts (the demo fleet's stand-in).

It reads the hosts' `state.json` and changes them through `bot.sim.ops`, so what it does
shows in the hosts' lsof and `vm process list` at once: a relocated VM leaves the source
host's output and appears in the target's. Every call runs in a worker thread; refusals of
the simulated hosts (`SimError`) become TaskFailed with their sentence.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from bot.errors import TaskFailed, TaskTimeout, VCenterError, VmNotFound
from bot.sim import ops
from bot.sim.hostdir import STATE_FILE, load
from bot.sim.state import HostState, SimError, Vm
from bot.vsphere.api import VcHost, VcInventory, VcVm, bios_uuid_from_esxcli, only_vm

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Seen:
    """A host as vCenter shows it, from its state.json with this stat signature."""

    signature: tuple[int, int, int]
    host: VcHost
    vms: tuple[VcVm, ...]
    offline_until: float | None


class SimVCenter:
    """`host_dirs`: host name -> host directory; `clusters`: host name -> cluster (the
    host state's own cluster when a host is not listed).

    Fault hooks for tests: `fail_next_relocate` (the next relocate fails with this message,
    changing nothing), `slow` (seconds every change takes; past the deadline it is a
    TaskTimeout and nothing changes)."""

    def __init__(self, host_dirs: dict[str, Path], clusters: dict[str, str], *,
                 hotmigrate_enabled: bool = True) -> None:
        self.host_dirs = dict(host_dirs)
        self.clusters = dict(clusters)
        self.hotmigrate_enabled = hotmigrate_enabled
        self.fail_next_relocate: str | None = None
        self.slow: float = 0.0
        self._lock = threading.Lock()
        self._read: dict[Path, _Seen] = {}  # host directory -> what vCenter shows of it

    async def inventory(self) -> VcInventory:
        return await asyncio.to_thread(self._inventory)

    async def find_vm_by_uuid(self, bios_uuid: str) -> VcVm:
        return await asyncio.to_thread(self._find, bios_uuid)

    async def relocate(self, vm: VcVm, target_host: str, *, deadline: float) -> VcVm:
        op = f"move {vm.name} to {target_host}"
        return await self._change(op, deadline, lambda: self._relocate(vm, target_host, op))

    async def shutdown_guest(self, vm: VcVm, *, deadline: float) -> VcVm:
        op = f"shut down the guest of {vm.name}"
        return await self._change(op, deadline, lambda: self._power_off(vm, op))

    async def power_off(self, vm: VcVm, *, deadline: float) -> VcVm:
        op = f"power off {vm.name}"
        return await self._change(op, deadline, lambda: self._power_off(vm, op))

    async def enter_maintenance(self, host: str, *, deadline: float) -> None:
        op = f"enter maintenance mode on {host}"
        await self._change(op, deadline, lambda: ops.set_maintenance(self._dir(host, op), True))

    async def exit_maintenance(self, host: str, *, deadline: float) -> None:
        op = f"exit maintenance mode on {host}"
        await self._change(op, deadline, lambda: ops.set_maintenance(self._dir(host, op), False))

    async def close(self) -> None:
        return None

    # --- in worker threads ------------------------------------------------------------------

    async def _change(self, op: str, deadline: float, fn: Callable[[], T]) -> T:
        left = deadline - asyncio.get_running_loop().time()
        return await asyncio.to_thread(self._timed, op, left, fn)

    def _timed(self, op: str, left: float, fn: Callable[[], T]) -> T:
        if left <= 0:
            raise TaskTimeout(op, "the deadline passed before it started; nothing was done")
        if self.slow:
            time.sleep(min(self.slow, left))
            if self.slow >= left:
                raise TaskTimeout(op, "the simulated task was still running at the deadline")
        try:
            return fn()
        except SimError as err:
            raise TaskFailed(op, str(err)) from None

    def _inventory(self) -> VcInventory:
        hosts: list[VcHost] = []
        vms: list[VcVm] = []
        now = time.time()
        for name, d in sorted(self.host_dirs.items()):
            seen = self._seen(name, d)
            hosts.append(dataclasses.replace(seen.host, connected=not (
                seen.offline_until is not None and now < seen.offline_until)))
            vms.extend(seen.vms)
        return VcInventory(tuple(hosts), tuple(vms), self.hotmigrate_enabled)

    def _find(self, bios_uuid: str) -> VcVm:
        uuid = _canonical(bios_uuid)
        op = f"find the VM with BIOS UUID {uuid}"
        found = [_vm(v, name) for name, s in self._states() for v in s.vms
                 if _canonical(v.uuid) == uuid]
        return only_vm(found, op)

    def _relocate(self, vm: VcVm, target: str, op: str) -> VcVm:
        src, dst = self._locate(vm, op), self._dir(target, op)
        with self._lock:
            message, self.fail_next_relocate = self.fail_next_relocate, None
        if message is not None:
            raise TaskFailed(op, message)
        if not self.hotmigrate_enabled and vm.vgpu_profiles and vm.power_state == "poweredOn":
            raise TaskFailed(op, "vGPU hot migration is disabled (vgpu.hotmigrate.enabled)")
        moved = ops.migrate_vm(src, dst, vm.name)
        return _vm(moved, self._name_of(dst))

    def _power_off(self, vm: VcVm, op: str) -> VcVm:
        host_dir = self._locate(vm, op)
        return _vm(ops.power_off_vm(host_dir, vm.name), self._name_of(host_dir))

    def _states(self) -> list[tuple[str, HostState]]:
        return [(name, load(d)) for name, d in sorted(self.host_dirs.items())]

    def _seen(self, name: str, host_dir: Path) -> _Seen:
        """What vCenter shows of the host, read again only when its state.json was replaced
        (it always is replaced whole): the inventory of a 1,000-host demo fleet is then 1,000
        stats, not 1,000 JSON parses in the bot's process, and only these records are kept
        (not the hosts' whole simulated state, which would lengthen the bot's GC passes)."""
        st = (host_dir / STATE_FILE).stat()
        signature = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            known = self._read.get(host_dir)
        if known is not None and known.signature == signature:
            return known
        state = load(host_dir)
        seen = _Seen(signature, VcHost(
            name=name, moref=f"host-{name}", cluster=self.clusters.get(name, state.cluster),
            in_maintenance=state.maintenance, connected=True,
            vgpu_profiles=tuple(state.gpu_profiles)),
            tuple(_vm(v, name) for v in state.vms), state.offline_until)
        with self._lock:
            self._read[host_dir] = seen
        return seen

    def _dir(self, host: str, op: str) -> Path:
        for name, d in self.host_dirs.items():
            if name.lower() == host.lower():
                return d
        raise VCenterError(op, f"vCenter knows no host named {host}")

    def _name_of(self, host_dir: Path) -> str:
        return next(n for n, d in self.host_dirs.items() if d == host_dir)

    def _locate(self, vm: VcVm, op: str) -> Path:
        """The directory of the host the VM is registered on now (found by its BIOS UUID)."""
        for name, state in self._states():
            if any(_canonical(v.uuid) == vm.bios_uuid and v.name == vm.name for v in state.vms):
                return self.host_dirs[name]
        raise VmNotFound(op, f"{vm.name} is on no host")


def _canonical(uuid: str) -> str:
    try:
        return bios_uuid_from_esxcli(uuid)
    except ValueError:
        return uuid.strip().lower()


def _vm(vm: Vm, host: str) -> VcVm:
    uuid = _canonical(vm.uuid)
    return VcVm(
        name=vm.name, moref=f"vm-{uuid}", bios_uuid=uuid,
        power_state="poweredOn" if vm.powered_on else "poweredOff", host=host,
        vgpu_profiles=(vm.vgpu_profile,) if vm.vgpu_profile else (),
        migrate_supported=vm.migrate_supported)
