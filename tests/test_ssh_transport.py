"""SshTransport over real SSH to simulated ESXi hosts (paramiko's server side)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

import paramiko
import pytest

from bot.errors import (
    AuthFailed,
    CommandFailed,
    CommandTimeout,
    HostError,
    HostKeyChanged,
    HostKeyUnknown,
    HostUnreachable,
    OutputTooLarge,
    OutputTruncated,
)
from bot.esx.ssh import SshSettings, SshTransport
from bot.inventory import HostEntry
from bot.sim.sshd import SimSshFleet, SimSshServer
from tests.sshd_helpers import (
    PASSWORD,
    assert_one_line,
    bounded,
    extra_threads,
    free_port,
    host_entry,
    make_host_dir,
    short_ssh_settings,
)


def transport_for(known_hosts: Path, **kwargs: object) -> SshTransport:
    return SshTransport(short_ssh_settings(known_hosts, **kwargs))


def entry(server: SimSshServer) -> HostEntry:
    return host_entry(server.name, server.port)


async def fails_with(
    kind: type[HostError],
    transport: SshTransport,
    host: HostEntry,
    line: str = "echo hi",
    **kwargs: object,
) -> HostError:
    with pytest.raises(kind) as info:
        await bounded(transport.run(host, line, **kwargs))  # type: ignore[arg-type]
    assert_one_line(info.value)
    assert info.value.host == host.name
    return info.value


async def test_runs_a_command(sim_server: SimSshServer, known_hosts: Path) -> None:
    transport = transport_for(known_hosts)
    try:
        result = await bounded(transport.run(entry(sim_server), "vmware -v; echo warn >&2"))
        assert result.stdout == "VMware ESXi 8.0.3 build-24022510\n"
        assert result.stderr == "warn\n"
        assert result.exit_status == 0
        assert result.host == "esx01" and result.command == "vmware -v; echo warn >&2"
        assert result.bytes_received == len(result.stdout) + len(result.stderr)
        unchecked = await bounded(transport.run(entry(sim_server), "exit 4", check=False))
        assert unchecked.exit_status == 4
        assert transport.stats() == {
            "connections_opened": 1,
            "commands_run": 2,
            "bytes_received": 38,
            "connections_open": 1,
        }
    finally:
        await transport.close()


async def test_non_utf8_output_is_replaced(sim_server: SimSshServer, known_hosts: Path) -> None:
    transport = transport_for(known_hosts)
    try:
        result = await bounded(transport.run(entry(sim_server), r"printf 'a\377b\n'"))
        assert result.stdout == "a\ufffdb\n" and result.bytes_received == 4
    finally:
        await transport.close()


_OVER_LIMIT = "yes 0123456789abcdef0123456789abcdef | head -c 5000000"


async def test_output_limit(sim_server: SimSshServer, known_hosts: Path) -> None:
    """Over the limit, the channel is closed while the host still sends. Each time that must
    be the bot's own error and leave the connection usable: the close used to race paramiko's
    reader thread (the channel's fileno() pipe), which then tore the connection down (about
    one command in ten) and at times made the close raise a bare EOFError."""
    transport = transport_for(known_hosts, max_output_bytes=1 << 20)
    host = entry(sim_server)
    try:
        for _ in range(8):
            err = await fails_with(OutputTooLarge, transport, host, _OVER_LIMIT)
            assert "1048576 bytes" in str(err)
            assert (await bounded(transport.run(host, "echo ok"))).stdout == "ok\n"
        fine = await bounded(transport.run(host, "yes abc | head -n 1000"))
        assert fine.stdout == "abc\n" * 1000
        at_limit = await bounded(transport.run(host, "head -c 1048576 /dev/zero"))
        assert at_limit.bytes_received == 1 << 20
        assert sim_server.accepted == 1 and transport.stats()["connections_opened"] == 1
    finally:
        await transport.close()


async def test_output_read_without_the_channel_pipe(
    sim_server: SimSshServer, known_hosts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race above, made certain: paramiko's Channel.close() closes the fileno() pipe
    unlocked against the reader thread that writes to it, so reading must not create it."""

    def no_pipe(chan: paramiko.Channel) -> int:
        raise AssertionError("Channel.fileno() called")

    monkeypatch.setattr(paramiko.Channel, "fileno", no_pipe)
    transport = transport_for(known_hosts, max_output_bytes=1 << 20)
    host = entry(sim_server)
    try:
        await fails_with(OutputTooLarge, transport, host, _OVER_LIMIT)
        result = await bounded(transport.run(host, "echo out; echo err >&2"))
        assert (result.stdout, result.stderr) == ("out\n", "err\n")
    finally:
        await transport.close()


async def test_output_limit_when_the_close_fails(
    sim_server: SimSshServer, known_hosts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection that dies under the channel's close (paramiko raises EOFError from its
    socket) leaves the command's own error, and the next command reconnects."""
    close = paramiko.Channel.close
    calls = 0

    def dying_close(chan: paramiko.Channel) -> None:
        nonlocal calls
        was_open = not chan.closed  # not a closed channel's __del__ (this or an earlier test)
        close(chan)
        if not was_open or chan.get_transport().server_mode:  # nor the simulated host's side
            return
        calls += 1
        chan.get_transport().close()
        raise EOFError

    transport = transport_for(known_hosts, max_output_bytes=1 << 20)
    host = entry(sim_server)
    try:
        with monkeypatch.context() as patch:
            patch.setattr(paramiko.Channel, "close", dying_close)
            await fails_with(OutputTooLarge, transport, host, _OVER_LIMIT)
            assert calls == 1
        assert (await bounded(transport.run(host, "echo next"))).stdout == "next\n"
        assert sim_server.accepted == 2
    finally:
        await transport.close()


async def test_connection_reused_and_reopened(sim_server: SimSshServer, known_hosts: Path) -> None:
    transport = transport_for(known_hosts)
    host = entry(sim_server)
    try:
        for _ in range(3):
            assert (await bounded(transport.run(host, "echo again"))).stdout == "again\n"
        assert sim_server.accepted == 1
        sim_server.drop_connections()
        assert (await bounded(transport.run(host, "echo back"))).stdout == "back\n"
        assert sim_server.accepted == 2
        assert transport.stats()["connections_opened"] == 2
    finally:
        await transport.close()


async def test_unknown_host_key(sim_server: SimSshServer, tmp_path: Path) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    for known in (empty, tmp_path / "missing_known_hosts"):
        transport = transport_for(known)
        try:
            err = await fails_with(HostKeyUnknown, transport, entry(sim_server))
        finally:
            await transport.close()
        assert isinstance(err, HostKeyUnknown)
        assert err.fingerprint == sim_server.host_key.fingerprint
        assert err.fingerprint.startswith("SHA256:") and err.fingerprint in str(err)
    assert sim_server.received == []
    transport = transport_for(empty)
    try:
        await fails_with(HostKeyUnknown, transport, entry(sim_server))
        empty.write_text(sim_server.known_hosts_line() + "\n")  # an operator adds the key
        assert (await bounded(transport.run(entry(sim_server), "echo ok"))).stdout == "ok\n"
    finally:
        await transport.close()


async def test_changed_host_key_in_known_hosts(sim_server: SimSshServer, tmp_path: Path) -> None:
    other = paramiko.ECDSAKey.generate()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sim_server.port} {other.get_name()} {other.get_base64()}\n")
    transport = transport_for(known)
    try:
        err = await fails_with(HostKeyChanged, transport, entry(sim_server))
    finally:
        await transport.close()
    assert isinstance(err, HostKeyChanged)
    assert err.fingerprint == sim_server.host_key.fingerprint in str(err)
    assert sim_server.received == []


async def test_host_key_changes_across_restart(host_dir: Path, tmp_path: Path) -> None:
    first = SimSshServer("esx01", host_dir, password=PASSWORD)
    first.start()
    known = tmp_path / "known_hosts"
    known.write_text(first.known_hosts_line() + "\n")
    transport = transport_for(known)
    host = entry(first)
    try:
        await bounded(transport.run(host, "true"))
        first.stop()
        with SimSshServer("esx01", host_dir, password=PASSWORD, port=first.port) as second:
            err = await fails_with(HostKeyChanged, transport, host)
            assert second.host_key.fingerprint in str(err)
            assert second.received == []
    finally:
        first.stop()
        await transport.close()


async def test_wrong_password(sim_server: SimSshServer, known_hosts: Path) -> None:
    transport = transport_for(known_hosts, password="not-the-password")
    try:
        err = await fails_with(AuthFailed, transport, entry(sim_server))
    finally:
        await transport.close()
    assert "not-the-password" not in str(err) and "root" in str(err)
    assert sim_server.received == []


async def test_no_usable_credentials(
    sim_server: SimSshServer, known_hosts: Path, tmp_path: Path
) -> None:
    for options in ({"password": None}, {"password": None, "key_file": tmp_path / "nope"}):
        transport = transport_for(known_hosts, **options)
        try:
            await fails_with(AuthFailed, transport, entry(sim_server))
        finally:
            await transport.close()
    assert sim_server.received == []


async def test_key_file_auth(host_dir: Path, tmp_path: Path) -> None:
    key = paramiko.ECDSAKey.generate()
    key_file = tmp_path / "id_ecdsa"
    key.write_private_key_file(str(key_file))
    with SimSshServer("esx01", host_dir, password=PASSWORD, authorized_keys=[key]) as server:
        known = tmp_path / "known_hosts"
        known.write_text(server.known_hosts_line() + "\n")
        transport = transport_for(known, password=None, key_file=key_file)
        try:
            assert (await bounded(transport.run(entry(server), "echo key"))).stdout == "key\n"
        finally:
            await transport.close()


async def test_host_down(sim_server: SimSshServer, known_hosts: Path, host_dir: Path,
                         caplog: pytest.LogCaptureFixture) -> None:
    transport = transport_for(known_hosts)
    try:
        closed = host_entry("esx09", free_port())
        with caplog.at_level(logging.INFO, logger="bot.esx.ssh_exec"):
            err = await fails_with(HostUnreachable, transport, closed)
        assert "esx09" in str(err) and "127.0.0.1" not in str(err)  # users read the name,
        assert f"127.0.0.1:{closed.port}" in caplog.text  # the log has the address
        sim_server.down = True
        await fails_with(HostUnreachable, transport, entry(sim_server))
        sim_server.down = False
        (host_dir / "offline").write_text(f"{time.time() + 60:.0f}")
        await fails_with(HostUnreachable, transport, entry(sim_server))
        assert sim_server.refused == 2
        unresolvable = HostEntry(name="esx10", address="no-such-host.invalid", port=22)
        await fails_with(HostUnreachable, transport, unresolvable)
    finally:
        await transport.close()


async def test_hanging_command_times_out(host_dir: Path, tmp_path: Path) -> None:
    baseline = set(threading.enumerate())
    server = SimSshServer("esx01", host_dir, password=PASSWORD)
    server.start()
    known = tmp_path / "known_hosts"
    known.write_text(server.known_hosts_line() + "\n")
    transport = transport_for(known, command_timeout=1.0)
    try:
        await bounded(transport.run(entry(server), "true"))
        server.hang_commands = True
        started = time.monotonic()
        err = await fails_with(CommandTimeout, transport, entry(server), "vmkvsitools lsof")
        assert time.monotonic() - started < 2.0
        assert "vmkvsitools lsof" in str(err) and "1 s" in str(err)
        assert transport.stats()["connections_open"] == 0  # closed with the channel
        started = time.monotonic()
        await fails_with(CommandTimeout, transport, entry(server), "sleep 5", timeout=0.5)
        assert time.monotonic() - started < 1.5
    finally:
        await transport.close()
        server.stop()
    assert extra_threads(baseline) == []


async def test_slow_command_times_out(sim_server: SimSshServer, known_hosts: Path) -> None:
    transport = transport_for(known_hosts, command_timeout=0.5)
    try:
        started = time.monotonic()
        await fails_with(CommandTimeout, transport, entry(sim_server), "echo partial; sleep 5")
        assert time.monotonic() - started < 1.5
        assert (await bounded(transport.run(entry(sim_server), "echo next"))).stdout == "next\n"
    finally:
        await transport.close()


async def test_command_failed(sim_server: SimSshServer, known_hosts: Path) -> None:
    transport = transport_for(known_hosts)
    try:
        err = await fails_with(CommandFailed, transport, entry(sim_server), "esxcli fail")
    finally:
        await transport.close()
    assert isinstance(err, CommandFailed)
    assert err.exit_status_remote == 3 and err.command == "esxcli fail"
    assert err.stderr == "esxcli: something broke\nsecond line of the error\n"
    text = str(err)
    assert "esx01" in text and "esxcli fail" in text and "something broke" in text


async def test_output_cut_mid_line(sim_server: SimSshServer, known_hosts: Path) -> None:
    sim_server.cut_output_at = 10
    transport = transport_for(known_hosts)
    try:
        err = await fails_with(
            OutputTruncated, transport, entry(sim_server), "printf 'line one\\nline two\\n'"
        )
        assert "mid-line" in str(err)
        sim_server.cut_output_at = None
        assert (await bounded(transport.run(entry(sim_server), "echo whole"))).stdout == "whole\n"
    finally:
        await transport.close()


async def test_fifty_hosts_in_parallel(tmp_path: Path) -> None:
    dirs = {f"esx{i:02d}": make_host_dir(tmp_path / "hosts", f"esx{i:02d}") for i in range(50)}
    with SimSshFleet(dirs, PASSWORD, tmp_path) as fleet:
        transport = transport_for(fleet.known_hosts_path, max_parallel=8)
        hosts = [host_entry(name, port) for name, _, port in fleet.entries()]
        lines = ["vmware -v", "vmkvsitools lsof | grep -c vmgfx", "cat /var/log/hostd.log"]
        try:
            results = await bounded(
                asyncio.gather(*(transport.run(h, line) for h in hosts for line in lines)), 20
            )
        finally:
            await transport.close()
        for index, host in enumerate(hosts):
            mine = results[index * 3 : index * 3 + 3]
            assert [r.stdout for r in mine] == [
                "VMware ESXi 8.0.3 build-24022510\n",
                "2\n",
                f"hostd log of {host.name}\n",
            ]
        assert all(s.accepted == 1 for s in fleet.servers.values())


async def test_semaphore_bounds_hosts_at_once(tmp_path: Path) -> None:
    dirs = {f"esx{i:02d}": make_host_dir(tmp_path / "hosts", f"esx{i:02d}") for i in range(6)}
    marker = tmp_path / "running"
    marker.mkdir()
    # each command registers itself, waits, and reports how many were running at once
    line = f"touch {marker}/$$; sleep 0.3; ls {marker} | wc -l; rm {marker}/$$"
    with SimSshFleet(dirs, PASSWORD, tmp_path) as fleet:
        transport = transport_for(fleet.known_hosts_path, max_parallel=2)
        hosts = [host_entry(name, port) for name, _, port in fleet.entries()]
        try:
            results = await bounded(asyncio.gather(*(transport.run(h, line) for h in hosts)))
        finally:
            await transport.close()
    assert max(int(r.stdout) for r in results) <= 2


async def test_event_loop_stays_responsive(sim_server: SimSshServer, known_hosts: Path) -> None:
    transport = transport_for(known_hosts)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        result = await bounded(transport.run(entry(sim_server), "sleep 0.6; echo done"))
        assert result.stdout == "done\n"
        assert ticks >= 15
    finally:
        task.cancel()
        await transport.close()


async def test_commands_serialised_per_host(
    sim_server: SimSshServer, known_hosts: Path, tmp_path: Path
) -> None:
    log_file = tmp_path / "order"
    transport = transport_for(known_hosts)
    line = f"echo start >> {log_file}; sleep 0.1; echo end >> {log_file}"
    try:
        await bounded(asyncio.gather(*(transport.run(entry(sim_server), line) for _ in range(4))))
    finally:
        await transport.close()
    assert log_file.read_text() == "start\nend\n" * 4


async def test_cancelled_command_ends_its_thread(host_dir: Path, tmp_path: Path) -> None:
    baseline = set(threading.enumerate())
    with SimSshServer("esx01", host_dir, password=PASSWORD) as server:
        known = tmp_path / "known_hosts"
        known.write_text(server.known_hosts_line() + "\n")
        transport = transport_for(known)
        task = asyncio.create_task(transport.run(entry(server), "sleep 30"))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await bounded(transport.run(entry(server), "echo still"))).stdout == "still\n"
        await bounded(transport.close(), 3)
    assert extra_threads(baseline) == []


async def test_received_lines_are_verbatim(sim_server: SimSshServer, known_hosts: Path) -> None:
    lines = [
        "vmkvsitools lsof | awk '$3==\"CHAR\" {print $0}' | grep vmgfx | sort | uniq -c",
        "esxcli vm process list",
        "cat /var/log/hostd.log | tail -n 5",
    ]
    transport = transport_for(known_hosts)
    try:
        for line in lines:
            await bounded(transport.run(entry(sim_server), line))
    finally:
        await transport.close()
    assert sim_server.received == lines


async def test_password_never_shown(
    sim_server: SimSshServer, known_hosts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = SshSettings(known_hosts, password=PASSWORD)
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings)
    transport = SshTransport(settings)
    wrong = SshTransport(SshSettings(known_hosts, password=PASSWORD + "x"))
    try:
        await bounded(transport.run(entry(sim_server), "echo hi"))
        errors = [
            await fails_with(AuthFailed, wrong, entry(sim_server)),
            await fails_with(CommandFailed, transport, entry(sim_server), "esxcli fail"),
        ]
    finally:
        await transport.close()
        await wrong.close()
    assert "esx01" in caplog.text and "echo hi" in caplog.text
    shown = [caplog.text, repr(transport), repr(wrong), *map(str, errors), *map(repr, errors)]
    assert not [text for text in shown if PASSWORD in text]


async def test_idle_connections_are_capped_least_recently_used_first(tmp_path: Path) -> None:
    """Only `max_idle_connections` stay open between commands (each costs a polling thread)."""
    dirs = {f"h{i}": make_host_dir(tmp_path / "hosts", f"h{i}") for i in range(5)}
    with SimSshFleet(dirs, password=PASSWORD, workdir=tmp_path) as fleet:
        hosts = [HostEntry(n, a, p) for n, a, p in fleet.entries()]
        transport = SshTransport(SshSettings(known_hosts=fleet.known_hosts_path,
                                             password=PASSWORD, max_idle_connections=2))
        try:
            for host in hosts:
                await asyncio.wait_for(transport.run(host, "echo hi"), 20)
            assert transport.stats()["connections_open"] == 2
            await asyncio.wait_for(transport.run(hosts[-1], "echo again"), 20)
            assert transport.stats()["connections_opened"] == 5  # the newest was kept
        finally:
            await transport.close()
