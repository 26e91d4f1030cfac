"""Changes to a host's state, as pure functions on `HostState` (no I/O).

Each raises `SimError` with an esxcli-like sentence when a real host would refuse.
Refusal texts ESXi's documentation does not give are reconstructed and say so.
"""

from __future__ import annotations

from bot.sim.state import (
    AIO_SETTING,
    HostdLine,
    HostState,
    SimError,
    Vm,
    VmkLine,
    allocate_id,
    allocate_ids,
    first_world_id,
    iso_ts,
)

BOOT_MESSAGES = (
    "Boot Successful",
    "Loading module nvidia ...",
    "NVIDIA: vGPU Manager loaded",
)


def require_up(state: HostState, now: float) -> None:
    if state.is_down(now):
        raise SimError(f"Host {state.name} is rebooting")


def set_kernel(state: HostState, setting: str, value: int) -> None:
    """`kernel set`: Configured changes now, Runtime only at the next boot."""
    if setting != AIO_SETTING or state.kernel_aio is None:
        raise SimError(f"Invalid Key Name: {setting}")  # reconstructed text
    if not 0 <= value <= 0xFFFFFFFF:
        raise SimError(f"Invalid value {value} for setting {setting}")
    state.kernel_aio.configured = value


def set_maintenance(state: HostState, enabled: bool, *, force: bool = False) -> None:
    """Enter or leave maintenance mode. Entering with VMs powered on is refused (a real
    host waits for them to be migrated or powered off; the text is reconstructed)."""
    running = len(state.running_vms)
    if enabled and not state.maintenance and running and not force:
        raise SimError(
            f"Unable to enter maintenance mode: {running} virtual machines are powered on; "
            "migrate or power them off first"
        )
    state.maintenance = enabled


def start_reboot(state: HostState, now: float, down_seconds: float) -> float:
    """Begin a reboot (maintenance mode required); returns the time the host is back."""
    require_up(state, now)
    if not state.maintenance:
        # reconstructed: the real refusal text is unknown
        raise SimError("The operation is not allowed in the current state: "
                       "the host is not in maintenance mode")
    state.offline_until = now + max(0.0, down_seconds)
    return state.offline_until


def finish_reboot_if_due(state: HostState, now: float) -> bool:
    """Complete a reboot whose downtime has passed: Runtime = Configured, VMs powered off,
    fresh ids, a boot in vmkernel.log and a hostd start marker with a new pid."""
    if state.offline_until is None or now < state.offline_until:
        return False
    up_at = state.offline_until
    state.offline_until = None
    state.boots += 1
    if state.kernel_aio is not None:
        state.kernel_aio.runtime = state.kernel_aio.configured
    state.next_id = first_world_id(state.version) + 137 * (state.boots % 5)
    for vm in state.vms:
        vm.powered_on = False
        vm.world_id = vm.cartel_id = 0
    for cartel in state.cartels:
        cartel.cartel_id = allocate_id(state)
    _log_boot(state, up_at)
    return True


def _log_boot(state: HostState, up_at: float) -> None:
    ts = iso_ts(up_at)
    world = first_world_id(state.version) - 848
    state.vmkernel_log.extend(VmkLine(ts, 0, world, m) for m in BOOT_MESSAGES)
    hostd = next((c for c in state.cartels if c.world_name == "hostd"), None)
    state.hostd_pid = hostd.cartel_id if hostd is not None else allocate_id(state)
    state.hostd_log.append(HostdLine(iso_ts(up_at + 4.25), state.hostd_pid, start=True))


def power_off(state: HostState, name: str) -> Vm:
    """Power a VM off: it leaves `vm process list` and lsof."""
    vm = state.find_vm(name)
    vm.powered_on = False
    vm.world_id = vm.cartel_id = 0
    return vm


def power_on(state: HostState, name: str) -> Vm:
    """Power a VM on with fresh world and cartel ids (refused in maintenance mode)."""
    vm = state.find_vm(name)
    if state.maintenance:
        raise SimError(f"Cannot power on {name}: {state.name} is in maintenance mode")
    if not vm.powered_on:
        vm.world_id, vm.cartel_id = allocate_ids(state)
        vm.powered_on = True
    return vm


def take_vm(state: HostState, name: str) -> Vm:
    """Remove a VM from the host (the source side of a migration)."""
    vm = state.find_vm(name)
    state.vms.remove(vm)
    return vm


def accept_vm(state: HostState, vm: Vm) -> Vm:
    """Register an incoming VM (the target side of a migration), with fresh ids."""
    if state.maintenance:
        raise SimError(f"Host {state.name} is in maintenance mode")
    if vm.vgpu_profile not in state.gpu_profiles:
        raise SimError(f"Host {state.name} offers no vGPU profile {vm.vgpu_profile}")
    if any(v.name == vm.name for v in state.vms):
        raise SimError(f"Host {state.name} already has a virtual machine named {vm.name!r}")
    vm.gpu_index = len(state.vms) % max(1, state.gpu_count)
    if vm.powered_on:
        vm.world_id, vm.cartel_id = allocate_ids(state)
    state.vms.append(vm)
    return vm


def set_vm_handles(
    state: HostState, name: str, vmgfx: int, char: int | None = None, file: int | None = None
) -> Vm:
    """Set the handles a VM holds (vmgfx CHAR, other CHAR, FILE)."""
    if min(vmgfx, char or 0, file or 0) < 0:
        raise SimError("Handle counts must not be negative")
    vm = state.find_vm(name)
    vm.vmgfx_handles = vmgfx
    if char is not None:
        vm.char_handles = char
    if file is not None:
        vm.file_handles = file
    return vm
