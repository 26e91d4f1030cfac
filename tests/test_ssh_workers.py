"""WorkerTransport (bot.esx.ssh_workers): SSH reads in child processes, over real SSH to
simulated ESXi hosts. Each test starts its own workers (about a second each)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import paramiko
import pytest

from bot import messages
from bot.errors import (
    AuthFailed,
    CommandFailed,
    HostKeyChanged,
    HostKeyUnknown,
    HostUnreachable,
)
from bot.esx import send_guard, ssh_workers
from bot.esx.ssh import SshSettings, SshTransport
from bot.esx.ssh_workers import WorkerTransport, _pack, _unpack
from bot.inventory import HostEntry
from bot.sim.sshd import SimSshFleet, SimSshServer
from tests.sshd_helpers import (
    PASSWORD,
    assert_one_line,
    bounded,
    host_entry,
    make_host_dir,
    short_ssh_settings,
)

SPAWN = 30.0  # bound for an awaitable that may start a worker process


def settings_for(known_hosts: Path, **kwargs: object) -> SshSettings:
    return short_ssh_settings(known_hosts, **kwargs)


def entry(server: SimSshServer) -> HostEntry:
    return host_entry(server.name, server.port)


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


async def wait_until(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    end = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < end, "condition not reached in time"
        await asyncio.sleep(0.02)


def the_pid(transport: WorkerTransport) -> int:
    [pid] = transport.worker_pids()
    assert pid is not None
    return pid


async def test_same_result_as_in_process_run_in_a_worker(
    sim_server: SimSshServer, known_hosts: Path
) -> None:
    lines = ["vmware -v; echo warn >&2", "cat /var/log/hostd.log"]
    plain = SshTransport(settings_for(known_hosts))
    try:
        expected = [await bounded(plain.run(entry(sim_server), line)) for line in lines]
        expected_exit = await bounded(plain.run(entry(sim_server), "exit 4", check=False))
    finally:
        await plain.close()
    workers = WorkerTransport(settings_for(known_hosts), 1)
    try:
        assert workers.worker_pids() == [None]  # started by the first command
        got = [await bounded(workers.run(entry(sim_server), line), SPAWN) for line in lines]
        got_exit = await bounded(workers.run(entry(sim_server), "exit 4", check=False))
        assert got == expected
        assert got[0].stdout == "VMware ESXi 8.0.3 build-24022510\n"
        assert got[0].stderr == "warn\n"
        assert got_exit == expected_exit and got_exit.exit_status == 4
        pid = the_pid(workers)
        assert pid != os.getpid() and alive(pid)
        stats = workers.stats()
        assert stats["commands_run"] == 3
        assert stats["connections_opened"] == 1  # the worker reused its connection
        assert stats["bytes_received"] == sum(r.bytes_received for r in [*got, got_exit])
        assert workers._local.stats()["commands_run"] == 0
        assert workers._local.stats()["connections_opened"] == 0
    finally:
        await workers.close()
    assert sim_server.accepted == 2  # one connection from the plain transport, one from the worker


async def test_check_raises_command_failed(sim_server: SimSshServer, known_hosts: Path) -> None:
    workers = WorkerTransport(settings_for(known_hosts), 1)
    try:
        with pytest.raises(CommandFailed) as info:
            await bounded(workers.run(entry(sim_server), "esxcli fail"), SPAWN)
        unchecked = await bounded(workers.run(entry(sim_server), "esxcli fail", check=False))
    finally:
        await workers.close()
    err = info.value
    assert_one_line(err)
    assert err.exit_status_remote == 3
    assert err.host == "esx01" and err.command == "esxcli fail"
    assert err.stderr == "esxcli: something broke\nsecond line of the error\n"
    assert unchecked.exit_status == 3 and unchecked.stdout == "partial output\n"


async def test_unknown_host_key_as_in_process(sim_server: SimSshServer, tmp_path: Path) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    plain = SshTransport(settings_for(empty))
    try:
        with pytest.raises(HostKeyUnknown) as in_process:
            await bounded(plain.run(entry(sim_server), "echo hi"))
    finally:
        await plain.close()
    workers = WorkerTransport(settings_for(empty), 1)
    try:
        with pytest.raises(HostKeyUnknown) as across:
            await bounded(workers.run(entry(sim_server), "echo hi"), SPAWN)
        assert type(across.value) is HostKeyUnknown
        assert across.value.fingerprint == in_process.value.fingerprint
        assert across.value.fingerprint == sim_server.host_key.fingerprint
        assert str(across.value) == str(in_process.value)
        assert across.value.host == "esx01" and across.value.command is None
        assert sim_server.received == []
        empty.write_text(sim_server.known_hosts_line() + "\n")  # an operator adds the key
        assert (await bounded(workers.run(entry(sim_server), "echo ok"))).stdout == "ok\n"
    finally:
        await workers.close()


async def test_wrong_password_is_auth_failed(sim_server: SimSshServer, known_hosts: Path) -> None:
    workers = WorkerTransport(settings_for(known_hosts, password="not-the-password"), 1)
    try:
        with pytest.raises(AuthFailed) as info:
            await bounded(workers.run(entry(sim_server), "echo hi"), SPAWN)
    finally:
        await workers.close()
    assert type(info.value) is AuthFailed and info.value.host == "esx01"
    assert "not-the-password" not in str(info.value)
    assert sim_server.received == []


async def test_killed_worker_fails_command_in_flight_and_restarts(
    sim_server: SimSshServer, known_hosts: Path
) -> None:
    workers = WorkerTransport(settings_for(known_hosts), 1)
    try:
        await bounded(workers.start(), SPAWN)
        first = the_pid(workers)
        slow = asyncio.create_task(workers.run(entry(sim_server), "sleep 30"))
        await wait_until(lambda: "sleep 30" in sim_server.received)
        started = time.monotonic()
        os.kill(first, signal.SIGKILL)
        with pytest.raises(HostUnreachable) as info:
            await bounded(slow, 5)
        assert time.monotonic() - started < 5
        assert messages.ssh_worker_stopped() in str(info.value)
        assert info.value.host == "esx01" and info.value.command == "sleep 30"
        result = await bounded(workers.run(entry(sim_server), "echo again"), SPAWN)
        assert result.stdout == "again\n"
        second = the_pid(workers)
        assert second != first and alive(second) and not alive(first)
    finally:
        await workers.close()


async def test_guarded_command_runs_in_this_process(
    sim_server: SimSshServer, known_hosts: Path
) -> None:
    calls: list[str] = []

    class Fenced(Exception):
        pass

    def guard() -> None:
        calls.append("checked")

    def refuse() -> None:
        calls.append("refused")
        raise Fenced("lease lost")

    workers = WorkerTransport(settings_for(known_hosts), 1)
    try:
        with send_guard.guarded(guard):
            result = await bounded(workers.run(entry(sim_server), "echo fenced"))
        assert result.stdout == "fenced\n" and calls == ["checked"]
        assert workers._local.stats()["commands_run"] == 1
        assert workers.worker_pids() == [None]  # no worker was needed
        with send_guard.guarded(refuse), pytest.raises(Fenced):
            await bounded(workers.run(entry(sim_server), "echo never"))
        assert calls == ["checked", "refused"]
        assert workers._local.stats()["commands_run"] == 1
        assert workers.worker_pids() == [None]
        assert workers.stats()["commands_run"] == 1
        assert sim_server.received == ["echo fenced"]
        # outside the guard, reads go to the worker again, and the guard is not called
        assert (await bounded(workers.run(entry(sim_server), "echo read"), SPAWN)).stdout == (
            "read\n"
        )
        assert calls == ["checked", "refused"]
        assert workers.worker_pids() != [None]
        assert workers._local.stats()["commands_run"] == 1
        assert workers.stats()["commands_run"] == 2
    finally:
        await workers.close()


async def test_cancelled_command_is_cancelled_in_the_worker(
    sim_server: SimSshServer, known_hosts: Path
) -> None:
    workers = WorkerTransport(settings_for(known_hosts, command_timeout=60.0), 1)
    try:
        await bounded(workers.start(), SPAWN)
        pid = the_pid(workers)
        task = asyncio.create_task(workers.run(entry(sim_server), "sleep 30"))
        await wait_until(lambda: "sleep 30" in sim_server.received)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await bounded(task, 5)
        assert time.monotonic() - started < 1.0
        # the worker stopped waiting for `sleep 30` too: else this would wait for it
        started = time.monotonic()
        result = await bounded(workers.run(entry(sim_server), "echo still"), 5)
        assert result.stdout == "still\n" and time.monotonic() - started < 3.0
        assert the_pid(workers) == pid  # not restarted
        assert workers.stats()["commands_run"] == 1  # the cancelled one did not finish
    finally:
        await workers.close()


async def test_close_ends_the_workers(known_hosts: Path) -> None:
    workers = WorkerTransport(settings_for(known_hosts), 2)
    try:
        await bounded(workers.start(), SPAWN)
        pids = workers.worker_pids()
        assert None not in pids and len(set(pids)) == 2
        assert all(alive(pid) for pid in pids if pid is not None)
    finally:
        await bounded(workers.close(), 15)
    await wait_until(lambda: not any(alive(pid) for pid in pids if pid is not None), 5)
    unstarted = WorkerTransport(settings_for(known_hosts), 1)
    await bounded(unstarted.close(), 5)  # nothing to stop
    assert unstarted.worker_pids() == [None]


async def test_close_lets_the_worker_exit_on_its_own(known_hosts: Path) -> None:
    workers = WorkerTransport(settings_for(known_hosts), 1)
    try:
        await bounded(workers.start(), SPAWN)
        proc = workers._workers[0]._proc
        await asyncio.sleep(0.2)  # an idle worker: its reply thread waits in recv()
    finally:
        started = time.monotonic()
        await bounded(workers.close(), 15)
    assert proc is not None and proc.exitcode == 0  # not killed (-9)
    assert time.monotonic() - started < 5.0


async def test_worker_that_does_not_answer_is_replaced(
    sim_server: SimSshServer, known_hosts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ssh_workers, "REPLY_GRACE", 0.5)
    workers = WorkerTransport(settings_for(known_hosts), 1)
    stopped: int | None = None
    try:
        await bounded(workers.start(), SPAWN)
        stopped = the_pid(workers)
        os.kill(stopped, signal.SIGSTOP)  # hung: alive, but it answers nothing
        with pytest.raises(HostUnreachable) as info:
            await bounded(workers.run(entry(sim_server), "echo lost", timeout=0.5), 5)
        assert messages.ssh_worker_stopped() in str(info.value)
        result = await bounded(workers.run(entry(sim_server), "echo back", timeout=2.0), SPAWN)
        assert result.stdout == "back\n"
        assert the_pid(workers) != stopped
    finally:
        if stopped is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(stopped, signal.SIGKILL)
        await workers.close()


async def test_giving_up_on_a_worker_fails_its_other_commands_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ssh_workers, "REPLY_GRACE", 0.5)
    dirs = {name: make_host_dir(tmp_path / "hosts", name) for name in ["esx01", "esx02"]}
    with SimSshFleet(dirs, PASSWORD, tmp_path) as fleet:
        workers = WorkerTransport(settings_for(fleet.known_hosts_path), 1)
        quick_host, slow_host = [host_entry(name, port) for name, _, port in fleet.entries()]
        stopped: int | None = None
        try:
            await bounded(workers.start(), SPAWN)
            stopped = the_pid(workers)
            os.kill(stopped, signal.SIGSTOP)
            quick = asyncio.create_task(workers.run(quick_host, "echo a", timeout=0.5))
            slow = asyncio.create_task(workers.run(slow_host, "echo b", timeout=5.0))
            with pytest.raises(HostUnreachable):
                await bounded(quick, 5)
            given_up = time.monotonic()
            with pytest.raises(HostUnreachable):
                await bounded(slow, 10)
            assert time.monotonic() - given_up < 1.0  # with its worker, not 5 s later
        finally:
            if stopped is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(stopped, signal.SIGKILL)
            await workers.close()


async def test_hosts_stick_to_their_worker_and_stats_sum(tmp_path: Path) -> None:
    names = ["esx02", "esx03", "esx04", "esx05"]
    assert {zlib.crc32(n.encode()) % 2 for n in names} == {0, 1}  # both workers get hosts
    dirs = {name: make_host_dir(tmp_path / "hosts", name) for name in names}
    with SimSshFleet(dirs, PASSWORD, tmp_path) as fleet:
        workers = WorkerTransport(settings_for(fleet.known_hosts_path), 2)
        hosts = [host_entry(name, port) for name, _, port in fleet.entries()]
        try:
            for _ in range(2):
                results = await bounded(asyncio.gather(
                    *(workers.run(h, "cat /var/log/hostd.log") for h in hosts)), SPAWN)
                assert [r.stdout for r in results] == [f"hostd log of {n}\n" for n in names]
            per_worker = [w.stats.get("commands_run", 0) for w in workers._workers]
            stats = workers.stats()
        finally:
            await workers.close()
        assert per_worker == [4, 4]
        assert stats["commands_run"] == 8
        assert stats["connections_opened"] == 4  # each host read twice over one connection
        assert stats["bytes_received"] == 2 * sum(len(f"hostd log of {n}\n") for n in names)
        assert all(s.accepted == 1 for s in fleet.servers.values())


def test_pack_unpack_host_key_changed() -> None:
    key = paramiko.ECDSAKey.generate()
    fingerprint = key.fingerprint
    original = HostKeyChanged("esx01", fingerprint)
    back = _unpack(pickle.loads(pickle.dumps(_pack(original))))
    assert type(back) is HostKeyChanged
    assert back.fingerprint == fingerprint
    assert back.host == "esx01" and back.command is None and back.detail == fingerprint
    assert str(back) == str(original) and fingerprint in str(back)


def test_pack_unpack_command_failed() -> None:
    original = CommandFailed("esx02", "esxcli fail", 3, "esxcli: something broke\n")
    back = _unpack(pickle.loads(pickle.dumps(_pack(original))))
    assert type(back) is CommandFailed
    assert back.exit_status_remote == 3
    assert back.stderr == "esxcli: something broke\n"
    assert back.host == "esx02" and back.command == "esxcli fail"
    assert str(back) == str(original)


def test_unpack_unknown_type_is_host_unreachable() -> None:
    back = _unpack(pickle.loads(pickle.dumps(_pack(ValueError("not ours")))))
    assert type(back) is HostUnreachable
    assert messages.ssh_worker_stopped() in str(back)
    assert "not ours" not in str(back)
