"""Hosts discovered in vCenter (govmomi's simulator, tests/vcsim), filtered and merged with
the file's [[hosts]] overrides.

The shape used here: datacenters DC0 and DC1, clusters <DC>_C0 (A100 profiles) and <DC>_C1
(L40S) of two hosts each, one standalone host per datacenter (no GPU), DC0_C0_H1
disconnected, DC1_C0_H0 in maintenance mode, DC1_C1_H1 without GPUs."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyVim.connect import Disconnect, SmartConnect
from pyVim.task import WaitForTask
from pyVmomi import vim

from bot.errors import ConfigError
from bot.vsphere.discovery import DiscoveredHost, DiscoveryFilter, discover_hosts
from bot.vsphere.merge import HostOverride, gone, inventory_source, merge_inventory
from bot.vsphere.session import Session
from bot.vsphere.settings import VCenterSettings
from tests.vcsim_helpers import Build, VcSim, shaped

ESTATE: dict[str, Any] = {
    "datacenters": 2, "standalone": 1,
    "hosts": {"DC0_C0_H1": {"connection": "disconnected"},
              "DC1_C0_H0": {"maintenance": True},
              "DC1_C1_H1": {"gpu": False}},
}
CLUSTER_HOSTS = {f"DC{d}_C{c}_H{h}" for d in (0, 1) for c in (0, 1) for h in (0, 1)}


def settings(sim: VcSim) -> VCenterSettings:
    return VCenterSettings(host=sim.host, port=sim.port, user=sim.user, password=sim.password,
                           ca_file=sim.cert_file, connect_timeout=5.0, request_timeout=10.0)


@pytest.fixture
def estate(vcsim_binary: Build, tmp_path: Path) -> Iterator[VcSim]:
    with shaped(vcsim_binary, tmp_path / "vcsim", ESTATE) as sim:
        yield sim


@pytest.fixture
def session(estate: VcSim) -> Iterator[Session]:
    s = Session(settings(estate))
    yield s
    s.close()


def by_name(hosts: list[DiscoveredHost]) -> dict[str, DiscoveredHost]:
    return {h.name: h for h in hosts}


async def test_every_host_with_its_place_and_state(session: Session) -> None:
    hosts = by_name(await discover_hosts(session, DiscoveryFilter(gpu_only=False)))
    assert set(hosts) == CLUSTER_HOSTS | {"DC0_H0", "DC1_H0"}
    h = hosts["DC1_C1_H0"]
    assert (h.cluster, h.datacenter, h.address) == ("DC1_C1", "DC1", "DC1_C1_H0")
    assert h.connected and not h.in_maintenance and h.power_state == "poweredOn"
    assert h.vgpu_profiles == ("grid_l40s-4q", "grid_l40s-8q", "grid_l40s-12q")
    assert h.gpus == ("NVIDIA L40S",) and h.has_gpu is True
    assert hosts["DC0_H0"].cluster is None and hosts["DC0_H0"].datacenter == "DC0"
    assert hosts["DC0_H0"].has_gpu is False
    assert hosts["DC1_C0_H0"].in_maintenance
    # a disconnected host is there, and says so (nothing waits on it)
    assert hosts["DC0_C0_H1"].connection_state == "disconnected"
    assert not hosts["DC0_C0_H1"].connected
    assert session.logins == 1


async def test_filters(session: Session) -> None:
    gpu = await discover_hosts(session)  # GPU hosts only, by default
    assert {h.name for h in gpu} == CLUSTER_HOSTS - {"DC1_C1_H1"}
    dc1 = await discover_hosts(session, DiscoveryFilter(datacenters=("dc1",)))
    assert {h.name for h in dc1} == {"DC1_C0_H0", "DC1_C0_H1", "DC1_C1_H0"}
    c0 = await discover_hosts(session, DiscoveryFilter(clusters=("DC0_C0", "DC1_C0")))
    assert {h.name for h in c0} == {"DC0_C0_H0", "DC0_C0_H1", "DC1_C0_H0", "DC1_C0_H1"}
    both = DiscoveryFilter(clusters=("DC0_C1",), datacenters=("DC1",))
    assert await discover_hosts(session, both) == []
    all_dc0 = await discover_hosts(session, DiscoveryFilter(datacenters=("DC0",),
                                                            gpu_only=False))
    assert [h.name for h in all_dc0] == ["DC0_C0_H0", "DC0_C0_H1", "DC0_C1_H0", "DC0_C1_H1",
                                         "DC0_H0"]


async def test_a_running_vgpu_vm_makes_a_gpu_host(estate: VcSim, session: Session) -> None:
    """A standalone host without profiles or graphics info, but running a vGPU VM."""
    ctx = ssl.create_default_context(cafile=str(estate.cert_file))
    si = SmartConnect(host=estate.host, port=estate.port, user=estate.user,
                      pwd=estate.password, sslContext=ctx, httpConnectionTimeout=10)
    try:
        content = si.RetrieveContent()
        view = content.viewManager.CreateContainerView(content.rootFolder,
                                                       [vim.VirtualMachine], True)
        vm = next(v for v in view.view if v.runtime.host.name == "DC1_H0")
        view.DestroyView()
        backing = vim.vm.device.VirtualPCIPassthrough.VmiopBackingInfo(vgpu="grid_a100-4c")
        device = vim.vm.device.VirtualPCIPassthrough(key=-1, backing=backing)
        change = vim.vm.device.VirtualDeviceSpec(operation="add", device=device)
        WaitForTask(vm.ReconfigVM_Task(vim.vm.ConfigSpec(deviceChange=[change])))
    finally:
        Disconnect(si)
    hosts = by_name(await discover_hosts(session))
    assert hosts["DC1_H0"].vgpu_vms == 1 and hosts["DC1_H0"].has_gpu
    assert "DC0_H0" not in hosts
    quick = by_name(await discover_hosts(session, DiscoveryFilter(read_vms=False)))
    assert "DC1_H0" not in quick


async def test_address_template(session: Session) -> None:
    hosts = await discover_hosts(session, DiscoveryFilter(
        clusters=("DC0_C1",), address_template="{name}.mgmt.example.com"))
    assert [h.address for h in hosts] == ["DC0_C1_H0.mgmt.example.com",
                                          "DC0_C1_H1.mgmt.example.com"]
    for bad in ("", "{host}", "{name}{0}", "{name"):
        with pytest.raises(ConfigError):
            DiscoveryFilter(address_template=bad)


async def test_merge_with_file_overrides(session: Session,
                                         caplog: pytest.LogCaptureFixture) -> None:
    found = await discover_hosts(session, DiscoveryFilter(datacenters=("DC0",)))
    overrides = [HostOverride("dc0_c0_h0", address="127.0.0.1", port=2222, username="aio"),
                 HostOverride("lab-host", address="10.0.0.9")]
    with caplog.at_level(logging.WARNING):
        inv = merge_inventory(found, overrides, source="vcenter", default_username="root")
    assert [h.name for h in inv] == ["DC0_C0_H0", "DC0_C0_H1", "DC0_C1_H0", "DC0_C1_H1"]
    h = inv.get("DC0_C0_H0")
    assert (h.address, h.port, h.username, h.cluster, h.source) == (
        "127.0.0.1", 2222, "aio", "DC0_C0", "vcenter+file")
    other = inv.get("DC0_C1_H1")
    assert (other.address, other.port, other.username, other.source) == (
        "DC0_C1_H1", 22, "root", "vcenter")
    assert inv.get("DC0_C0_H1").connection_state == "disconnected"
    assert "lab-host" in caplog.text

    both = merge_inventory(found, overrides, source="both")
    assert both.get("lab-host").source == "file" and both.get("lab-host").address == "10.0.0.9"
    assert len(both) == 5
    file_only = merge_inventory(found, overrides, source="file")
    assert [h.name for h in file_only] == ["dc0_c0_h0", "lab-host"]
    assert gone(both, file_only) == ["DC0_C0_H1", "DC0_C1_H0", "DC0_C1_H1"]
    assert inventory_source("both") == "both"
    with pytest.raises(ConfigError):
        inventory_source("ldap")


def test_override_from_a_file_entry() -> None:
    from bot.inventory import HostEntry

    assert HostOverride.from_entry(HostEntry("esx1", "esx1")) == HostOverride("esx1")
    assert HostOverride.from_entry(HostEntry("esx1", "10.1.1.1", 2022, "gpu", "aio"),
                                   default_username="root") == HostOverride(
        "esx1", "10.1.1.1", 2022, "aio", "gpu")


async def test_kept_fresh(estate: VcSim, session: Session) -> None:
    from bot.vsphere.inventory_source import VCenterInventory

    now = [0.0]
    source = VCenterInventory(session, source="both", clock=lambda: now[0],
                              filters=DiscoveryFilter(clusters=("DC0_C1",)),
                              overrides=[HostOverride("lab", address="10.0.0.9")])
    first = await source.current()
    assert [h.name for h in first] == ["DC0_C1_H0", "DC0_C1_H1", "lab"]
    estate.stop()  # vCenter gone: the cached inventory still answers within the interval
    assert await source.current() is first
    now[0] = 601.0  # past the interval: the refresh fails, the last inventory is kept
    assert await source.current() is first
