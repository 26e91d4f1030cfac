"""Day one in a vSphere estate, end to end: the hosts come from vCenter (govmomi's simulator,
tests/vcsim), none listed by hand; the configuration's [[hosts]] only point the discovered
hosts at the demo fleet's simulated ESXi hosts (real SSH on 127.0.0.1). SSH is stopped on
every host and `ssh.enable_on_demand = true`: each read starts TSM-SSH through vCenter and
stops it afterwards, audited with who asked. `/aio top`, `/aio scan` and `/aio inventory`
run through the real app over HTTP against the fake Slack, built by the one assembly
(`open_services`) from a configuration file, as `aio-bot serve` builds it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.config import load_config
from bot.demo import DemoFleet
from bot.gate import Caller
from bot.services import open_services
from bot.sim.hostdir import load
from bot.slack.runtime import Runtime
from bot.vsphere import host_access
from bot.vsphere.api import bios_uuid_from_esxcli
from bot.vsphere.session import Session
from bot.vsphere.settings import VCenterSettings
from commands.catalog import build_registry
from tests import fakeslack
from tests.fakeslack import FakeSlack
from tests.slack_helpers import all_text, assert_every_message_valid, served, table_rows
from tests.vcsim_helpers import Build, VcSim, shaped

# vCenter's hosts, and the demo host each one is in truth (its SSH address in [[hosts]])
STANDS_IN = {"DC0_C0_H0": "host01", "DC0_C0_H1": "host02", "DC0_C1_H0": "host05",
             "DC0_C1_H1": "host06"}
DISCONNECTED = "DC0_C1_H1"
NEW_KEY = "DC0_C1_H0"  # its key is left out of known_hosts: the scan must say so
fake_slack = fakeslack.fake_slack


@dataclass
class Estate:
    sim: VcSim
    fleet: DemoFleet
    config: Path
    env: dict[str, str]
    vms: dict[str, tuple[str, str]]  # esxcli VM name on host01 -> (vGPU profile, power)


@pytest.fixture
def fleet() -> Iterator[DemoFleet]:
    demo = DemoFleet()
    demo.start()
    try:
        yield demo
    finally:
        demo.stop()


@pytest.fixture
def estate(vcsim_binary: Build, fleet: DemoFleet, tmp_path: Path) -> Iterator[Estate]:
    host01 = load(fleet.host_dirs["host01"])
    vms = [v for v in host01.vms if v.powered_on][:2]
    shape: dict[str, Any] = {
        "hosts": {DISCONNECTED: {"connection": "disconnected"},
                  "DC0_C0_H1": {"maintenance": True}},
        "vms": {f"DC0_C0_RP0_VM{i}": {"uuid": bios_uuid_from_esxcli(vm.uuid),
                                      "vgpu": vm.vgpu_profile, "host": "DC0_C0_H0",
                                      "power": "poweredOn"} for i, vm in enumerate(vms)},
    }
    known = tmp_path / "known_hosts"
    port_of = {h.name: h.port for h in fleet.inventory}
    lines = fleet.fleet.known_hosts_path.read_text().splitlines()
    known.write_text("".join(f"{line}\n" for line in lines
                             if f"]:{port_of[STANDS_IN[NEW_KEY]]} " not in line))
    with shaped(vcsim_binary, tmp_path / "vcsim", shape) as sim:
        config = tmp_path / "aio-bot.toml"
        config.write_text(configuration(sim, known, port_of))
        env = {"AIO_VCENTER_PASSWORD": sim.password, "AIO_SSH_PASSWORD": fleet.password,
               "AIO_BOT_DB": str(tmp_path / "aio-bot.db")}
        yield Estate(sim, fleet, config, env,
                     {vm.name: (vm.vgpu_profile, "poweredOn") for vm in vms})


def configuration(sim: VcSim, known: Path, port_of: dict[str, int]) -> str:
    overrides = "".join(f'\n[[hosts]]\nname = "{name}"\naddress = "127.0.0.1"\n'
                        f"port = {port_of[demo]}\n" for name, demo in STANDS_IN.items())
    return f"""
[vcenter]
host = "{sim.host}"
port = {sim.port}
user = "{sim.user}"
ca_file = "{sim.cert_file}"

[inventory]
source = "vcenter"
clusters = ["DC0_C0", "DC0_C1"]

[ssh]
known_hosts = "{known}"
enable_on_demand = true
max_window_minutes = 5
{overrides}"""


@pytest.fixture
async def runtime(estate: Estate) -> AsyncIterator[Runtime]:
    config = load_config(estate.config, estate.env)
    async with open_services(config, estate.env) as services:
        rt = Runtime(services, progress_interval=0.3)
        try:
            yield rt
        finally:
            await rt.close()


def ssh_running(estate: Estate) -> dict[str, bool]:
    sim = estate.sim
    session = Session(VCenterSettings(host=sim.host, port=sim.port, user=sim.user,
                                      password=sim.password, ca_file=sim.cert_file))
    try:
        return {name: host_access.read_state(session, name).running for name in STANDS_IN}
    finally:
        session.close()


async def test_top_and_scan_on_hosts_from_vcenter(estate: Estate, runtime: Runtime,
                                                  fake_slack: FakeSlack) -> None:
    assert [h.name for h in runtime.inventory] == sorted(STANDS_IN)
    assert {h.source for h in runtime.inventory} == {"vcenter+file"}
    async with served(fake_slack, runtime) as bot:
        await bot.driver.slash("/aio", "top DC0_C0_H0 limit=5")
        top = await fake_slack.wait_for_message(
            lambda m: "DC0_C0_H0 ·" in repr(m.get("blocks")), timeout=30)
        await bot.driver.slash("/aio", "scan")
        scan = await fake_slack.wait_for_message(
            lambda m: "Scan of all" in str(m.get("text")), timeout=60)
        keys = await fake_slack.wait_for_message(
            lambda m: "SSH host keys to confirm" in str(m.get("text")), timeout=10)
        await bot.driver.slash("/aio", "inventory")
        inventory = await fake_slack.wait_for_message(
            lambda m: "Inventory:" in str(m.get("text")), timeout=20)
        await runtime.drain()
        for message in (top, scan, keys, inventory):
            print(f"--- {message['text']}\n{readable(message)}")
        print("--- audit trail")
        store = runtime.services.store
        assert store is not None
        rows = [r for name in STANDS_IN for r in await store.audit_trail(host=name)]
        for row in rows:
            print(f"{row.host} {row.event} by {row.actor}: {row.detail.get('reason')}")

    # top: the host read over SSH, vCenter's facts beside it (joined by BIOS UUID)
    rows_top = table_rows(top)
    assert rows_top[0][-2:] == ["vGPU profile", "power"]
    joined = {r[1]: (r[-2], r[-1]) for r in rows_top[1:]}
    assert {n: joined[n] for n in estate.vms if n in joined} == {
        n: estate.vms[n] for n in estate.vms if n in joined}
    assert any(n in joined for n in estate.vms)
    assert "vCenter: cluster *DC0_C0*" in all_text(top)

    # scan: three hosts read, the disconnected one said at once, the new key listed
    text = all_text(scan)
    assert "2 failed" in scan["text"]
    assert f"vCenter says {DISCONNECTED} is disconnected" in text
    assert len(table_rows(scan)) == 1 + 2
    key_text = all_text(keys)
    assert NEW_KEY in key_text and "SHA256:" in key_text
    assert f"aio-bot known-hosts scan {NEW_KEY}" in key_text

    # inventory: every host with its source and state
    states = {r[0]: r[4] for r in table_rows(inventory)[1:]}
    assert states == {"DC0_C0_H0": "connected", "DC0_C0_H1": "connected, maintenance",
                      "DC0_C1_H0": "connected", DISCONNECTED: "disconnected"}

    # every SSH start was stopped again, audited with who asked; none on the disconnected
    events = [(r.host, r.event) for r in rows]
    for name in ("DC0_C0_H0", "DC0_C0_H1", NEW_KEY):
        assert (name, "ssh-started") in events
    assert not [e for e in events if e[0] == DISCONNECTED]
    assert {r.actor for r in rows if r.event == "ssh-started"} == {"U0OPERATOR"}
    assert_every_message_valid(fake_slack)


async def test_windows_close_and_ssh_is_stopped_afterwards(estate: Estate) -> None:
    config = load_config(estate.config, estate.env)
    async with open_services(config, estate.env) as services:
        ctx = services.context(Caller("U0ALICE", "cli"))
        await build_registry().run("check DC0_C0_H0", ctx)
        assert (await asyncio.to_thread(ssh_running, estate))["DC0_C0_H0"]  # lingering
    assert not any((await asyncio.to_thread(ssh_running, estate)).values())


def readable(message: dict[str, Any]) -> str:
    """The message as a person reads it: section texts and table rows."""
    out = []
    for block in message.get("blocks", []):
        if block["type"] == "table":
            out += [" | ".join(c["text"] for c in row) for row in block["rows"]]
        elif block["type"] in ("section", "context", "header"):
            parts = [block.get("text"), *(block.get("fields") or []),
                     *(block.get("elements") or [])]
            out += [p["text"] for p in parts if isinstance(p, dict) and "text" in p]
    return "\n".join(out)

