"""In-process operations on simulated hosts (for the vCenter stand-in, the demo, tests).

Each takes a host directory, holds its lock for a read-modify-write, and re-renders what
the tools print. Refusals raise `bot.sim.state.SimError`.
"""

from __future__ import annotations

import time
from pathlib import Path

from bot.sim import actions
from bot.sim.hostdir import load, locked, save, update
from bot.sim.state import HostState, SimError, Vm


def set_kernel(host_dir: Path | str, value: int) -> None:
    """`esxcli system settings kernel set -s FDSNumAIOHandles -v value`."""
    update(host_dir, lambda s: actions.set_kernel(s, "FDSNumAIOHandles", value))


def set_maintenance(host_dir: Path | str, enabled: bool, *, force: bool = False) -> None:
    """Enter/leave maintenance mode; entering with VMs powered on needs `force`."""

    def change(state: HostState) -> None:
        actions.require_up(state, time.time())
        actions.set_maintenance(state, enabled, force=force)

    update(host_dir, change)


def reboot(host_dir: Path | str, now: float, down_seconds: float) -> float:
    """Start a reboot at `now` (maintenance mode required); returns when it is back up."""
    return update(host_dir, lambda s: actions.start_reboot(s, now, down_seconds), now=now)


def complete_reboot_if_due(host_dir: Path | str, now: float) -> bool:
    """Finish a reboot whose downtime is over; True when one was finished now."""
    with locked(host_dir):
        state = load(host_dir)
        if not actions.finish_reboot_if_due(state, now):
            return False
        save(host_dir, state)
        return True


def power_off_vm(host_dir: Path | str, vm_name: str) -> Vm:
    """Power a VM off: it leaves the host's lsof and `vm process list`."""
    return update(host_dir, lambda s: actions.power_off(s, vm_name))


def power_on_vm(host_dir: Path | str, vm_name: str) -> Vm:
    """Power a VM on, with fresh world and cartel ids."""
    return update(host_dir, lambda s: actions.power_on(s, vm_name))


def set_vm_handles(
    host_dir: Path | str,
    vm_name: str,
    vmgfx: int,
    char: int | None = None,
    file: int | None = None,
) -> Vm:
    """Set how many vmgfx CHAR (and optionally other CHAR, FILE) handles a VM holds."""
    return update(host_dir, lambda s: actions.set_vm_handles(s, vm_name, vmgfx, char, file))


def migrate_vm(src_dir: Path | str, dst_dir: Path | str, vm_name: str) -> Vm:
    """vMotion: the VM leaves the source host and appears on the target with new world
    and cartel ids, holding the same handles. Both hosts are locked (in path order)."""
    src, dst = Path(src_dir).resolve(), Path(dst_dir).resolve()
    if src == dst:
        raise SimError("Source and target host are the same")
    first, second = sorted((src, dst))
    now = time.time()
    with locked(first), locked(second):
        source, target = load(src), load(dst)
        for state in (source, target):
            actions.finish_reboot_if_due(state, now)
            actions.require_up(state, now)
        vm = actions.take_vm(source, vm_name)
        if not vm.migrate_supported and vm.powered_on:
            raise SimError(f"Virtual machine {vm_name} does not support vGPU migration")
        moved = actions.accept_vm(target, vm)
        save(dst, target)
        save(src, source)
        return moved
