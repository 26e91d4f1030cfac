"""SimVCenter on the demo fleet: consistent with the simulated hosts' own output."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import AmbiguousVm, TaskFailed, TaskTimeout, VCenterError, VmNotFound
from bot.esx import commandlines as cl
from bot.sim.demo_fleet import build_fleet_dirs, demo_fleet_states
from bot.sim.hostdir import load
from bot.sim.shell import run_command
from bot.sim.vcenter import SimVCenter
from bot.vsphere.api import VcVm

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
WANTED = {"host01", "host02", "host04", "host05", "host08"}


@pytest.fixture
def fleet(tmp_path: Path) -> dict[str, Path]:
    states = [s for s in demo_fleet_states(NOW) if s.name in WANTED]
    return build_fleet_dirs(tmp_path, states)


@pytest.fixture
def vc(fleet: dict[str, Path]) -> SimVCenter:
    clusters = {name: load(d).cluster for name, d in fleet.items()}
    return SimVCenter(fleet, clusters)


def deadline(seconds: float = 10.0) -> float:
    return asyncio.get_running_loop().time() + seconds


def lsof_cartels(host_dir: Path) -> set[int]:
    lines = run_command(host_dir, cl.LSOF_FULL).stdout.splitlines()[1:]
    return {int(line.split()[0]) for line in lines if line.strip()}


def vm_names(host_dir: Path) -> list[str]:
    out = run_command(host_dir, cl.VM_LIST).stdout
    return [b.split("\n")[0] for b in out.split("\n\n") if b.strip()]


async def vm_named(vc: SimVCenter, name: str) -> VcVm:
    return next(v for v in (await vc.inventory()).vms if v.name == name)


async def test_inventory_matches_the_host_states(vc: SimVCenter, fleet: dict[str, Path]) -> None:
    inv = await vc.inventory()
    assert {h.name for h in inv.hosts} == WANTED
    assert inv.hotmigrate_enabled
    for name, host_dir in fleet.items():
        state = load(host_dir)
        host = inv.host(name)
        assert host is not None
        assert host.cluster == state.cluster and host.connected and not host.in_maintenance
        assert host.vgpu_profiles == tuple(state.gpu_profiles)
        vms = {v.name: v for v in inv.vms_on(name)}
        assert set(vms) == {v.name for v in state.vms}
        for v in state.vms:
            rec = vms[v.name]
            assert rec.bios_uuid.replace("-", "") == v.uuid.replace("-", "").lower()
            assert len(rec.bios_uuid) == 36
            assert rec.power_state == ("poweredOn" if v.powered_on else "poweredOff")
            assert rec.vgpu_profiles == (v.vgpu_profile,)
            assert rec.migrate_supported == v.migrate_supported
    assert (await vm_named(vc, "ml-train-a100-03")).migrate_supported is False
    assert (await vm_named(vc, "vdi-eng-spare-01")).power_state == "poweredOff"


async def test_relocate_moves_the_vm_in_lsof(vc: SimVCenter, fleet: dict[str, Path]) -> None:
    src, dst = fleet["host01"], fleet["host04"]
    vm = await vm_named(vc, "render-node-01")
    old_cartel = load(src).find_vm("render-node-01").cartel_id
    assert old_cartel in lsof_cartels(src)
    moved = await vc.relocate(vm, "host04", deadline=deadline())
    assert moved.host == "host04" and moved.bios_uuid == vm.bios_uuid
    assert old_cartel not in lsof_cartels(src)
    assert "render-node-01" not in vm_names(src)
    new_cartel = load(dst).find_vm("render-node-01").cartel_id
    assert new_cartel in lsof_cartels(dst)
    assert "render-node-01" in vm_names(dst)
    assert await vc.find_vm_by_uuid(vm.bios_uuid) == moved


async def test_relocate_refusals(vc: SimVCenter, fleet: dict[str, Path]) -> None:
    vm = await vm_named(vc, "render-node-02")
    with pytest.raises(TaskFailed, match="offers no vGPU profile grid_a100-8c"):
        await vc.relocate(vm, "host05", deadline=deadline())
    pinned = await vm_named(vc, "ml-train-a100-03")
    with pytest.raises(TaskFailed, match="does not support vGPU migration"):
        await vc.relocate(pinned, "host04", deadline=deadline())
    with pytest.raises(VCenterError, match="no host named host99"):
        await vc.relocate(vm, "host99", deadline=deadline())
    assert "render-node-02" in vm_names(fleet["host01"])


async def test_fault_hooks(vc: SimVCenter, fleet: dict[str, Path]) -> None:
    vm = await vm_named(vc, "render-node-03")
    vc.fail_next_relocate = "A general system error occurred: vMotion failed"
    with pytest.raises(TaskFailed, match="vMotion failed"):
        await vc.relocate(vm, "host04", deadline=deadline())
    vc.slow = 0.3
    with pytest.raises(TaskTimeout):
        await vc.relocate(vm, "host04", deadline=deadline(0.1))
    assert "render-node-03" in vm_names(fleet["host01"])
    moved = await vc.relocate(vm, "host04", deadline=deadline())  # slow but in time
    assert moved.host == "host04"


async def test_hotmigrate_disabled(fleet: dict[str, Path]) -> None:
    vc = SimVCenter(fleet, {}, hotmigrate_enabled=False)
    vm = await vm_named(vc, "render-node-04")
    assert (await vc.inventory()).host("host01").cluster == "gpu-cluster-a"  # type: ignore[union-attr]
    with pytest.raises(TaskFailed, match=r"vgpu\.hotmigrate\.enabled"):
        await vc.relocate(vm, "host04", deadline=deadline())


async def test_power_off_and_shutdown(vc: SimVCenter, fleet: dict[str, Path]) -> None:
    vm = await vm_named(vc, "cad-ws-101")
    cartel = load(fleet["host05"]).find_vm("cad-ws-101").cartel_id
    off = await vc.power_off(vm, deadline=deadline())
    assert off.power_state == "poweredOff"
    assert cartel not in lsof_cartels(fleet["host05"])
    assert "cad-ws-101" not in vm_names(fleet["host05"])
    other = await vm_named(vc, "cad-ws-102")
    assert (await vc.shutdown_guest(other, deadline=deadline())).power_state == "poweredOff"


async def test_maintenance(vc: SimVCenter, fleet: dict[str, Path]) -> None:
    with pytest.raises(TaskFailed, match="virtual machines are powered on"):
        await vc.enter_maintenance("host08", deadline=deadline())
    for vm in (await vc.inventory()).vms_on("host08"):
        await vc.power_off(vm, deadline=deadline())
    await vc.enter_maintenance("host08", deadline=deadline())
    assert (await vc.inventory()).host("host08").in_maintenance  # type: ignore[union-attr]
    assert run_command(fleet["host08"], cl.MAINTENANCE_GET).stdout.strip() == "Enabled"
    await vc.exit_maintenance("host08", deadline=deadline())
    assert not (await vc.inventory()).host("host08").in_maintenance  # type: ignore[union-attr]


async def test_find_vm_by_uuid(vc: SimVCenter) -> None:
    vm = await vm_named(vc, "vdi-eng-020")
    digits = vm.bios_uuid.replace("-", "")
    esxcli = " ".join(digits[i:i + 2] for i in range(0, 16, 2)) + "-" + \
        " ".join(digits[i:i + 2] for i in range(16, 32, 2))
    assert await vc.find_vm_by_uuid(esxcli) == vm
    with pytest.raises(VmNotFound):
        await vc.find_vm_by_uuid("00000000-0000-0000-0000-000000000000")


async def test_find_vm_by_uuid_refuses_duplicates(fleet: dict[str, Path]) -> None:
    from bot.sim.hostdir import update

    uuid = load(fleet["host02"]).vms[0].uuid

    def clash(state):  # type: ignore[no-untyped-def]
        state.vms[0].uuid = uuid

    update(fleet["host04"], clash)
    with pytest.raises(AmbiguousVm):
        await SimVCenter(fleet, {}).find_vm_by_uuid(uuid)
