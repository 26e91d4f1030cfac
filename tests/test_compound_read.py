"""The full read of a host in one SSH exec (bot.esx.compound), parsed back into the same report
the six separate commands give: on the simulated hosts (paramiko server, /bin/sh) and on
OpenSSH's sshd with busybox as the shell and awk. A missing part, a failing part and a huge
part are each told for that part alone."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import CommandFailed
from bot.esx import commandlines as cl
from bot.esx import compound
from bot.esx.collect import collect_host
from bot.esx.kernel import find_aio_setting
from bot.esx.logs import parse_hostd_starts
from bot.esx.logsummary import parse_vmkernel_reduced
from bot.esx.lsof import parse_reduced
from bot.esx.report import RECENT, HostReport, build_report
from bot.esx.ssh import SshSettings, SshTransport
from bot.esx.transport import Transport
from bot.esx.version import parse_version
from bot.esx.vmlist import parse_vm_list
from bot.inventory import HostEntry
from bot.sim.demo_fleet import build_fleet_dirs, synthetic_fleet_states
from bot.sim.files import write_atomic
from bot.sim.sshd import SimSshFleet
from tests.needs import require
from tests.openssh_busybox import available, busybox_sshd
from tests.sshd_helpers import bounded

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PASSWORD = secrets.token_urlsafe(12)


async def six_commands(transport: Transport, host: HostEntry) -> HostReport:
    """The report as the six separate commands gave it before the compound read."""
    version = await transport.run(host, cl.VERSION)
    kernel = await transport.run(host, cl.KERNEL_AIO, check=False)
    vms = await transport.run(host, cl.VM_LIST)
    lsof = await transport.run(host, cl.LSOF_REDUCED)
    vmk = await transport.run(host, cl.vmkernel_events(NOW - RECENT), check=False)
    hostd = await transport.run(host, cl.HOSTD_STARTS, check=False)
    fds, dumps = parse_vmkernel_reduced(vmk.stdout) if vmk.exit_status == 0 else (None, [])
    return build_report(
        host.name, cluster=host.cluster, version=parse_version(version.stdout),
        setting=find_aio_setting(kernel.stdout) if kernel.exit_status == 0 else None,
        vms=parse_vm_list(vms.stdout), lsof=parse_reduced(lsof.stdout), fds=fds,
        hostd_events=dumps + parse_hostd_starts(hostd.stdout.splitlines()), now=NOW)


def same_picture(a: HostReport, b: HostReport) -> None:
    assert (a.version, a.limit, a.in_use, a.vms, a.fix, a.fds, a.hostd_events) == (
        b.version, b.limit, b.in_use, b.vms, b.fix, b.fds, b.hostd_events)


def fail_tool(host_dir: Path, tool: str, text: str) -> None:
    write_atomic(host_dir / "bin" / tool, f"#!/bin/sh\n{text}\n", 0o755)


def huge_warning(host_dir: Path) -> None:
    """One FDS warning line of 200 KB in vmkernel.log: the reduction prints it twice."""
    line = ("2026-03-01T11:00:00.000Z Wa(180) vmkwarning: cpu1:2097803)WARNING: FDS: 1: "
            "Could not initialize AIO handles 0x1: No free handles " + "x" * 200_000 + "\n")
    with open(host_dir / "var" / "log" / "vmkernel.log", "a") as fh:
        fh.write(line)


# --- the simulated hosts ----------------------------------------------------------------


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[tuple[SimSshFleet, dict[str, Path], SshTransport]]:
    dirs = build_fleet_dirs(tmp_path / "hosts", synthetic_fleet_states(6, 12, 11))
    with SimSshFleet(dirs, password=PASSWORD, workdir=tmp_path) as fleet:
        transport = SshTransport(SshSettings(known_hosts=fleet.known_hosts_path,
                                             password=PASSWORD, command_timeout=30))
        yield fleet, dirs, transport


def entries(fleet: SimSshFleet) -> list[HostEntry]:
    return [HostEntry(n, a, p) for n, a, p in fleet.entries()]


async def test_one_exec_gives_the_six_commands_report(sim: tuple[
        SimSshFleet, dict[str, Path], SshTransport]) -> None:
    fleet, _, transport = sim
    try:
        for host in entries(fleet):
            before = len(fleet.servers[host.name].received)
            report = await bounded(collect_host(transport, host, now=NOW), 30)
            assert len(fleet.servers[host.name].received) == before + 1  # one exec
            same_picture(report, await bounded(six_commands(transport, host), 30))
            assert report.unread == () and 0 < report.bytes_received <= 64 * 1024
    finally:
        await transport.close()


async def test_missing_failing_and_huge_parts_alone(sim: tuple[
        SimSshFleet, dict[str, Path], SshTransport]) -> None:
    fleet, dirs, transport = sim
    hosts = entries(fleet)
    try:
        expected = [await bounded(six_commands(transport, h), 30) for h in hosts[:3]]
        (dirs[hosts[0].name] / "var" / "log" / "hostd.log").unlink()  # missing part
        fail_tool(dirs[hosts[1].name], "esxcli",  # a failing optional part: kernel list
                  'case "$*" in *kernel*) echo "Error: boom" >&2; exit 1;; esac\n'
                  f'exec {dirs[hosts[1].name]}/bin/esxcli.real "$@"')
        (dirs[hosts[1].name] / "bin" / "esxcli.real").write_text(
            (dirs[hosts[2].name] / "bin" / "esxcli").read_text()
            .replace(str(dirs[hosts[2].name]), str(dirs[hosts[1].name])))
        (dirs[hosts[1].name] / "bin" / "esxcli.real").chmod(0o755)
        huge_warning(dirs[hosts[2].name])  # a huge part
        missing, failing, huge = [await bounded(collect_host(transport, h, now=NOW), 30)
                                  for h in hosts[:3]]
        assert [u.split(":")[0] for u in missing.unread] == ["hostd"]
        assert "No such file" in missing.unread[0]
        assert missing.hostd_events == [e for e in expected[0].hostd_events
                                        if "pid=" not in e.detail]
        assert (missing.vms, missing.in_use) == (expected[0].vms, expected[0].in_use)
        assert failing.unread == ("kernel: `esxcli system settings kernel list -o "
                                  "FDSNumAIOHandles` exited with status 1: Error: boom",)
        assert failing.limit.configured is None and failing.vms == expected[1].vms
        assert [u.split(":")[0] for u in huge.unread] == ["vmkernel"]
        assert "cut" in huge.unread[0] and huge.vms == expected[2].vms
        assert huge.bytes_received <= 64 * 1024
        fail_tool(dirs[hosts[3].name], "vmkvsitools", "echo 'vmkvsitools: no lsof' >&2; exit 3")
        with pytest.raises(CommandFailed) as info:  # a required part fails the host
            await bounded(collect_host(transport, hosts[3], now=NOW), 30)
        assert info.value.command == cl.LSOF_REDUCED
        assert "no lsof" in str(info.value)
    finally:
        await transport.close()


def test_markers_cannot_be_forged_and_parts_split_exactly() -> None:
    part_list = compound.parts(NOW)
    nonce = 12345
    other = compound.command_line(part_list, 999).split("'")[1]  # a marker of another read
    out = "".join(f"\n#aio:{nonce}:{p.name}\n{other}{p.name} out\n\n#aio:{nonce}:{p.name}:"
                  f"{i}\n" for i, p in enumerate(part_list))
    got = compound.split_output(part_list, nonce, out, "")
    assert [(o.stdout, o.status, o.cut) for o in got] == [
        (f"{other}{p.name} out\n", i, False) for i, p in enumerate(part_list)]
    shell_died = out[:out.index(f"#aio:{nonce}:lsof:")]
    got = compound.split_output(part_list, nonce, shell_died, "")
    assert [o.status for o in got] == [0, 1, 2, None, None, None]
    assert compound.is_full_read(compound.command_line(part_list, nonce))
    assert not compound.is_full_read(compound.command_line(part_list, nonce) + "; reboot")


# --- OpenSSH's sshd, busybox as the shell -----------------------------------------------


@pytest.fixture
def openssh(tmp_path: Path) -> Iterator[tuple[HostEntry, Path, SshTransport]]:
    require(available())
    dirs = build_fleet_dirs(tmp_path / "hosts", synthetic_fleet_states(1, 40, 3))
    host_dir = next(iter(dirs.values()))
    work = tmp_path / "sshd"
    work.mkdir()
    with busybox_sshd(work, host_dir) as sshd:
        require(None if sshd.logs_bound else
                "cannot bind the simulated /var/log (needs root and unshare)")
        transport = SshTransport(SshSettings(sshd.known_hosts, key_file=sshd.key_file,
                                             command_timeout=30))
        yield HostEntry("esx-busybox", "127.0.0.1", sshd.port, username=sshd.user), \
            host_dir, transport


async def test_busybox_sshd_parts(openssh: tuple[HostEntry, Path, SshTransport]) -> None:
    host, host_dir, transport = openssh
    try:
        shell = await bounded(transport.run(host, "readlink /proc/$$/exe; true"))
        assert shell.stdout.strip().endswith("busybox")
        expected = await bounded(six_commands(transport, host), 30)
        report = await bounded(collect_host(transport, host, now=NOW), 30)
        same_picture(report, expected)
        assert report.unread == () and report.vms and report.in_use > 0
        huge_warning(host_dir)
        (host_dir / "var" / "log" / "hostd.log").unlink()
        report = await bounded(collect_host(transport, host, now=NOW), 30)
        assert sorted(u.split(":")[0] for u in report.unread) == ["hostd", "vmkernel"]
        assert report.vms == expected.vms and report.bytes_received <= 64 * 1024
    finally:
        await transport.close()
