"""SSH only for the read: TSM-SSH started through vCenter (govmomi's simulator, extended in
tests/vcsim/extend.go) around a real SSH read of a simulated ESXi host (bot.sim), stopped
again afterwards, with audit rows in a real SQLite store; lockdown mode explained.

The simulated SSH host stands in for the discovered host DC0_C0_H0 through a [[hosts]]
override of its address and port, as a configuration would for a host that vCenter names
differently from how SSH reaches it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.esx.ssh import SshSettings, SshTransport
from bot.inventory import HostEntry, Inventory
from bot.sim.sshd import SimSshServer
from bot.store import Store, open_store
from bot.vsphere import host_access
from bot.vsphere.discovery import DiscoveryFilter, discover_hosts
from bot.vsphere.host_access import SshBlocked
from bot.vsphere.merge import HostOverride, merge_inventory
from bot.vsphere.session import Session
from bot.vsphere.settings import VCenterSettings
from bot.vsphere.ssh_window import SshWindows
from tests.sshd_helpers import PASSWORD, bounded
from tests.vcsim_helpers import Build, VcSim, shaped

TARGET = "DC0_C0_H0"


def session_for(sim: VcSim) -> Session:
    return Session(VCenterSettings(host=sim.host, port=sim.port, user=sim.user,
                                   password=sim.password, ca_file=sim.cert_file,
                                   connect_timeout=5.0, request_timeout=10.0))


@pytest.fixture
def start_vcsim(vcsim_binary: Build, tmp_path: Path) -> Iterator[Any]:
    """Start a simulator with per-host state; returns (sim, session)."""
    stack: list[Any] = []

    def start(hosts: dict[str, Any] | None = None) -> tuple[VcSim, Session]:
        cm = shaped(vcsim_binary, tmp_path / f"vcsim{len(stack)}", {"hosts": hosts or {}})
        sim = cm.__enter__()
        session = session_for(sim)
        stack.append((cm, session))
        return sim, session

    yield start
    for cm, session in stack:
        session.close()
        cm.__exit__(None, None, None)


@pytest.fixture
async def audit_store(tmp_path: Path) -> AsyncIterator[Store]:
    s = open_store(str(tmp_path / "audit.db"))
    await s.migrate()
    yield s
    await s.close()


def audit_into(store: Store) -> Any:
    """The assembly's adapter: SshWindows' audit callback onto the store's audit trail."""
    async def audit(host: str, event: str, detail: dict[str, Any]) -> None:
        await store.audit(None, host, detail["actor"], event, detail, now=datetime.now(UTC))
    return audit


async def inventory(session: Session, server: SimSshServer) -> Inventory:
    found = await discover_hosts(session, DiscoveryFilter(clusters=("DC0_C0",)))
    override = HostOverride(TARGET, address=server.address, port=server.port)
    return merge_inventory(found, [override], source="vcenter")


def ssh_of(session: Session) -> host_access.SshState:
    return host_access.read_state(session, TARGET)


@pytest.fixture
async def transport(sim_server: SimSshServer, known_hosts: Path) -> AsyncIterator[SshTransport]:
    t = SshTransport(SshSettings(known_hosts=known_hosts, password=PASSWORD,
                                 connect_timeout=5.0, command_timeout=10.0))
    yield t
    await t.close()


async def test_started_for_the_read_and_stopped_after(
        start_vcsim: Any, sim_server: SimSshServer, transport: SshTransport,
        audit_store: Store) -> None:
    _, session = start_vcsim()
    host = (await inventory(session, sim_server)).get(TARGET)
    assert (host.address, host.port, host.source) == ("127.0.0.1", sim_server.port,
                                                      "vcenter+file")
    assert not ssh_of(session).running
    windows = SshWindows(session, audit_into(audit_store))

    async def read(who: str) -> str:
        async with windows.open(host, actor=who, reason=f"top {TARGET}") as state:
            assert state.host == TARGET and state.policy == "off"
            assert (await asyncio.to_thread(ssh_of, session)).running
            result = await transport.run(host, "vmware -vl")
            await asyncio.sleep(0.2)  # overlap the two readers
            return result.stdout

    out = await bounded(asyncio.gather(read("U111"), read("U222")), 30)
    assert out == ["VMware ESXi 8.0.3 build-24022510\n"] * 2
    after = ssh_of(session)
    assert not after.running and after.policy == "off"
    rows = await audit_store.audit_trail(host=TARGET)
    assert [r.event for r in rows] == ["ssh-started", "ssh-stopped"]  # one shared window
    assert rows[0].actor == "U111" and rows[0].detail["reason"] == f"top {TARGET}"
    assert rows[0].detail["policy"] == "off" and rows[0].detail["at"]


async def test_running_already_is_left_running(start_vcsim: Any, sim_server: SimSshServer,
                                               transport: SshTransport,
                                               audit_store: Store) -> None:
    _, session = start_vcsim({TARGET: {"sshRunning": True, "sshPolicy": "on"}})
    host = (await inventory(session, sim_server)).get(TARGET)
    windows = SshWindows(session, audit_into(audit_store))
    async with windows.open(host, actor="U1", reason="scan"):
        await transport.run(host, "vmware -vl")
    assert ssh_of(session).running
    assert await audit_store.audit_trail(host=TARGET) == []


async def test_policy_is_restored(start_vcsim: Any, sim_server: SimSshServer,
                                  audit_store: Store) -> None:
    _, session = start_vcsim()
    host = (await inventory(session, sim_server)).get(TARGET)
    windows = SshWindows(session, audit_into(audit_store))
    async with windows.open(host, actor="U1", reason="x") as s:
        await asyncio.to_thread(host_access.set_policy, session, s, "on")  # someone else's
    after = ssh_of(session)
    assert not after.running and after.policy == "off"


async def test_maximum_window(start_vcsim: Any, sim_server: SimSshServer,
                              audit_store: Store) -> None:
    _, session = start_vcsim()
    host = (await inventory(session, sim_server)).get(TARGET)
    windows = SshWindows(session, audit_into(audit_store), max_window=0.5)
    async with windows.open(host, actor="U1", reason="slow read"):
        await asyncio.sleep(1.5)
        assert not (await asyncio.to_thread(ssh_of, session)).running  # stopped anyway
    rows = await audit_store.audit_trail(host=TARGET)
    assert [r.event for r in rows] == ["ssh-started", "ssh-stopped"]
    assert "maximum window" in rows[1].detail["reason"] and rows[1].actor == "aio-bot"
    async with windows.open(host, actor="U2", reason="next read"):  # a new window
        assert (await asyncio.to_thread(ssh_of, session)).running
    assert [r.event for r in await audit_store.audit_trail(host=TARGET)] == [
        "ssh-started", "ssh-stopped", "ssh-started", "ssh-stopped"]


async def test_normal_lockdown_without_exception_is_explained(
        start_vcsim: Any, sim_server: SimSshServer, audit_store: Store) -> None:
    _, session = start_vcsim({TARGET: {"lockdown": "lockdownNormal",
                                       "exceptions": ["svc-backup"]}})
    host = (await inventory(session, sim_server)).get(TARGET)
    with pytest.raises(SshBlocked) as err:
        async with SshWindows(session, audit_into(audit_store)).open(host, actor="U1", reason="x"):
            pytest.fail("the read must not run")
    text = str(err.value)
    assert "normal lockdown mode" in text and "root is not one" in text
    assert "svc-backup" in text and "exception users" in text and "\n" not in text
    assert "never change lockdown" in text
    state = ssh_of(session)
    assert not state.running and state.lockdown == "lockdownNormal"  # nothing changed
    assert await audit_store.audit_trail(host=TARGET) == []


async def test_strict_lockdown(start_vcsim: Any, sim_server: SimSshServer,
                               transport: SshTransport, audit_store: Store) -> None:
    _, session = start_vcsim({
        TARGET: {"lockdown": "lockdownStrict", "exceptions": ["root"]},
        "DC0_C0_H1": {"lockdown": "lockdownStrict", "exceptions": ["root"],
                      "sshRunning": True}})
    inv = await inventory(session, sim_server)
    windows = SshWindows(session, audit_into(audit_store))
    with pytest.raises(SshBlocked) as err:  # root may log in, but SSH is stopped
        async with windows.open(inv.get(TARGET), actor="U1", reason="x"):
            pytest.fail("the read must not run")
    text = str(err.value)
    assert "strict lockdown mode" in text and "TSM-SSH) is stopped" in text
    assert "root is not one" not in text
    assert not ssh_of(session).running
    # the other host: SSH runs and root is an exception user, so the read may go ahead
    other = HostEntry("DC0_C0_H1", sim_server.address, sim_server.port)
    async with windows.open(other, actor="U1", reason="x") as state:
        assert state.lockdown == "lockdownStrict" and state.exceptions == ("root",)
        await transport.run(other, "vmware -vl")


async def test_disconnected_host_is_not_waited_on(start_vcsim: Any, sim_server: SimSshServer,
                                                  audit_store: Store) -> None:
    _, session = start_vcsim({TARGET: {"connection": "disconnected"}})
    host = (await inventory(session, sim_server)).get(TARGET)
    assert host.connection_state == "disconnected"
    with pytest.raises(SshBlocked, match="vCenter says DC0_C0_H0 is disconnected"):
        async with SshWindows(session, audit_into(audit_store)).open(host, actor="U1", reason="x"):
            pytest.fail("the read must not run")


async def test_off_by_default_only_explains(start_vcsim: Any, sim_server: SimSshServer,
                                            audit_store: Store) -> None:
    _, session = start_vcsim()
    host = (await inventory(session, sim_server)).get(TARGET)
    windows = SshWindows(session, audit_into(audit_store), enable_on_demand=False)
    with pytest.raises(SshBlocked, match="enable_on_demand"):
        async with windows.open(host, actor="U1", reason="x"):
            pytest.fail("the read must not run")
    assert not ssh_of(session).running
