"""Changing simulated hosts: esxcli changes through /bin/sh, and the in-process operations."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.esx import commandlines as cl
from bot.sim import ops
from bot.sim.demo_fleet import build_fleet_dirs, demo_fleet_states
from bot.sim.hostdir import load, update
from bot.sim.shell import run_command
from bot.sim.state import HostState, SimError, from_json, to_json

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def fleet(tmp_path: Path) -> dict[str, Path]:
    wanted = {"host01", "host02", "host04", "host05"}
    states = [s for s in demo_fleet_states(NOW) if s.name in wanted]
    return build_fleet_dirs(tmp_path, states)


def kernel_row(host_dir: Path) -> list[str]:
    out = run_command(host_dir, cl.KERNEL_AIO).stdout.splitlines()
    return out[2].split()[2:4] if len(out) > 2 else []


def vm_names(host_dir: Path) -> list[str]:
    out = run_command(host_dir, cl.VM_LIST).stdout
    return [b.split("\n")[0] for b in out.split("\n\n") if b.strip()]


def kb_counts(host_dir: Path) -> dict[int, int]:
    out = run_command(host_dir, cl.KB_PIPELINE).stdout
    return {int(c): int(n) for n, c in (line.split() for line in out.splitlines())}


def power_off_all(host_dir: Path) -> None:
    for vm in load(host_dir).running_vms:
        ops.power_off_vm(host_dir, vm.name)


def test_state_json_round_trip() -> None:
    for state in demo_fleet_states(NOW):
        assert to_json(from_json(to_json(state))) == to_json(state)


def test_tools_bake_the_project_python(fleet: dict[str, Path]) -> None:
    assert sys.executable in (fleet["host02"] / "bin" / "esxcli").read_text()


def test_kernel_set_changes_configured_only(fleet: dict[str, Path]) -> None:
    host = fleet["host02"]
    result = run_command(host, cl.kernel_set_aio(65536))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert kernel_row(host) == ["65536", "32768"]
    assert load(host).kernel_aio is not None


def test_kernel_set_without_the_setting_fails(fleet: dict[str, Path]) -> None:
    result = run_command(fleet["host01"], cl.kernel_set_aio(65536))
    assert result.returncode == 1 and result.stderr.startswith("Error: ")
    assert kernel_row(fleet["host01"]) == []


def test_reboot_needs_reason_and_maintenance_mode(fleet: dict[str, Path]) -> None:
    host = fleet["host02"]
    result = run_command(host, "esxcli system shutdown reboot")
    assert result.returncode == 1
    assert result.stderr == "Error: Missing required parameter -r|--reason\n"
    result = run_command(host, cl.REBOOT)
    assert result.returncode == 1 and "maintenance mode" in result.stderr
    result = run_command(host, "esxcli system shutdown reboot -r x --delay=soon")
    assert result.returncode == 1 and "'delay'" in result.stderr
    assert not (host / "offline").exists()


def test_maintenance_mode_refused_with_running_vms(fleet: dict[str, Path]) -> None:
    host = fleet["host02"]
    result = run_command(host, cl.maintenance_set(True))
    assert result.returncode == 1 and "powered on" in result.stderr
    assert run_command(host, cl.MAINTENANCE_GET).stdout == "Disabled\n"


def test_reboot_through_esxcli_applies_the_setting(fleet: dict[str, Path]) -> None:
    host = fleet["host02"]
    update(host, lambda s: setattr(s, "reboot_seconds", 0.3))
    assert run_command(host, cl.kernel_set_aio(65536)).returncode == 0
    power_off_all(host)
    assert run_command(host, cl.maintenance_set(True)).returncode == 0
    assert run_command(host, cl.MAINTENANCE_GET).stdout == "Enabled\n"
    pid_before = load(host).hostd_pid
    before = time.time()
    result = run_command(host, cl.REBOOT)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    until = float((host / "offline").read_text())
    assert before < until <= time.time() + 0.3
    time.sleep(max(0.0, until - time.time()) + 0.05)
    assert kernel_row(host) == ["65536", "65536"]  # any tool call settles the reboot
    assert not (host / "offline").exists()
    assert run_command(host, cl.MAINTENANCE_GET).stdout == "Enabled\n"
    starts = run_command(host, cl.HOSTD_STARTS).stdout.splitlines()
    assert len(starts) == 2 and f"pid={pid_before}," not in starts[-1]
    assert run_command(host, cl.maintenance_set(False)).returncode == 0


def test_reboot_in_process(fleet: dict[str, Path]) -> None:
    host = fleet["host04"]
    power_off_all(host)
    ops.set_maintenance(host, True)
    ops.set_kernel(host, 70000)
    now = time.time()
    assert ops.reboot(host, now, 60.0) == now + 60.0
    assert float((host / "offline").read_text()) == now + 60.0
    with pytest.raises(SimError):
        ops.reboot(host, now + 1, 60.0)
    assert not ops.complete_reboot_if_due(host, now + 59)
    assert ops.complete_reboot_if_due(host, now + 60)
    state = load(host)
    assert state.kernel_aio is not None and state.kernel_aio.runtime == 70000
    assert state.maintenance and state.offline_until is None
    assert not state.running_vms and run_command(host, cl.VM_LIST).stdout == ""


def test_forced_maintenance_reboot_powers_vms_off(fleet: dict[str, Path]) -> None:
    host = fleet["host05"]
    ops.set_maintenance(host, True, force=True)
    now = time.time()
    ops.reboot(host, now, 0.0)
    assert ops.complete_reboot_if_due(host, now)
    assert vm_names(host) == []
    assert run_command(host, cl.KB_PIPELINE).stdout == ""


def test_migrate_vm_moves_it_between_hosts(fleet: dict[str, Path]) -> None:
    src, dst = fleet["host01"], fleet["host04"]
    old = load(src).find_vm("harbor&nexus")
    assert old.cartel_id in kb_counts(src)
    moved = ops.migrate_vm(src, dst, "harbor&nexus")
    assert "harbor&nexus" not in vm_names(src) and old.cartel_id not in kb_counts(src)
    assert "harbor&nexus" in vm_names(dst)
    assert (moved.world_id, moved.cartel_id) != (old.world_id, old.cartel_id)
    assert kb_counts(dst)[moved.cartel_id] == old.vmgfx_handles
    assert "harbor&nexus" in run_command(dst, cl.VM_LIST_XML).stdout.replace("&amp;", "&")


def test_migrate_vm_refusals(fleet: dict[str, Path]) -> None:
    with pytest.raises(SimError, match="profile"):
        ops.migrate_vm(fleet["host01"], fleet["host05"], "vdi-eng-010")
    with pytest.raises(SimError, match="migration"):
        ops.migrate_vm(fleet["host01"], fleet["host04"], "ml-train-a100-03")
    with pytest.raises(SimError, match="No virtual machine"):
        ops.migrate_vm(fleet["host01"], fleet["host04"], "nope")
    assert "vdi-eng-010" in vm_names(fleet["host01"])


def test_power_off_and_set_handles(fleet: dict[str, Path]) -> None:
    host = fleet["host01"]
    vm = load(host).find_vm("QA Win11 Desktop")
    ops.set_vm_handles(host, "QA Win11 Desktop", 4242)
    assert kb_counts(host)[vm.cartel_id] == 4242
    ops.power_off_vm(host, "QA Win11 Desktop")
    assert "QA Win11 Desktop" not in vm_names(host)
    assert vm.cartel_id not in kb_counts(host)
    back = ops.power_on_vm(host, "QA Win11 Desktop")
    assert kb_counts(host)[back.cartel_id] == 4242


def test_update_is_not_saved_when_fn_raises(fleet: dict[str, Path]) -> None:
    host = fleet["host02"]

    def boom(state: HostState) -> None:
        state.maintenance = True
        raise SimError("no")

    with pytest.raises(SimError):
        update(host, boom)
    assert not load(host).maintenance
