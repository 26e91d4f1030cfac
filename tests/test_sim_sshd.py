"""The simulated ESXi host's SSH server, driven by a plain paramiko client."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paramiko
import pytest

from bot.esx.ssh import SshSettings, SshTransport
from bot.sim.sshd import SimSshFleet, SimSshServer
from tests.sshd_helpers import PASSWORD, bounded, extra_threads, host_entry, make_host_dir


@contextmanager
def raw_client(server: SimSshServer, **kwargs: object) -> Iterator[paramiko.SSHClient]:
    client = paramiko.SSHClient()
    client.get_host_keys().add(
        f"[127.0.0.1]:{server.port}", server.host_key.get_name(), server.host_key
    )
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    options: dict[str, object] = {
        "username": "root",
        "password": PASSWORD,
        "look_for_keys": False,
        "allow_agent": False,
        "timeout": 5,
        "banner_timeout": 5,
        "auth_timeout": 5,
    }
    options.update(kwargs)
    client.connect("127.0.0.1", port=server.port, **options)  # type: ignore[arg-type]
    try:
        yield client
    finally:
        client.close()


def run(client: paramiko.SSHClient, line: str) -> tuple[str, str, int]:
    _, out, err = client.exec_command(line, timeout=5)
    stdout, stderr = out.read().decode(), err.read().decode()
    return stdout, stderr, out.channel.recv_exit_status()


def test_known_hosts_line(sim_server: SimSshServer) -> None:
    line = sim_server.known_hosts_line()
    assert line.startswith(f"[127.0.0.1]:{sim_server.port} ecdsa-sha2-nistp256 AAAA")
    assert line.split()[2] == sim_server.host_key.get_base64()


def test_runs_through_sh_with_host_tools_and_env(sim_server: SimSshServer, host_dir: Path) -> None:
    with raw_client(sim_server) as client:
        out, err, status = run(client, 'vmware -v; echo "$AIO_SIM_HOST_DIR"; pwd; echo $PATH')
    lines = out.splitlines()
    assert lines[0] == "VMware ESXi 8.0.3 build-24022510"
    assert lines[1] == lines[2] == str(host_dir.resolve())
    assert lines[3] == f"{host_dir.resolve()}/bin:/usr/local/bin:/usr/bin:/bin"
    assert (err, status) == ("", 0)


def test_pipelines_exit_status_and_stderr(sim_server: SimSshServer) -> None:
    with raw_client(sim_server) as client:
        assert run(client, "vmkvsitools lsof | grep -c vmgfx") == ("2\n", "", 0)
        out, err, status = run(client, "esxcli fail")
        assert (out, status) == ("partial output\n", 3)
        assert "something broke" in err
        assert run(client, "kill -9 $$")[2] == 137


def test_var_paths_rewritten_into_host_dir(sim_server: SimSshServer, host_dir: Path) -> None:
    (host_dir / "var" / "core" / "hostd-zdump.000").write_text("core")
    with raw_client(sim_server) as client:
        assert run(client, "cat /var/log/hostd.log")[0] == "hostd log of esx01\n"
        assert run(client, "ls /var/core/")[0] == "hostd-zdump.000\n"
    assert sim_server.received == ["cat /var/log/hostd.log", "ls /var/core/"]


def test_received_verbatim_and_thread_safe(sim_server: SimSshServer) -> None:
    line = "vmkvsitools lsof | awk '$3==\"CHAR\" {print $1}' | sort | uniq -c"
    with raw_client(sim_server) as client:
        assert run(client, line)[0].split() == ["2", "1001"]
    assert sim_server.received == [line]


def test_password_only_through_keyboard_interactive(sim_server: SimSshServer) -> None:
    # Like ESXi 8: the "password" method is not offered; connect(password=) falls back.
    transport = paramiko.Transport(("127.0.0.1", sim_server.port))
    try:
        transport.start_client(timeout=5)
        with pytest.raises(paramiko.BadAuthenticationType) as info:
            transport.auth_password("root", PASSWORD, fallback=False)
        assert info.value.allowed_types == ["publickey", "keyboard-interactive"]
    finally:
        transport.close()
    with raw_client(sim_server) as client:
        assert run(client, "echo ok")[0] == "ok\n"
    with pytest.raises(paramiko.AuthenticationException):
        raw_client(sim_server, password="wrong").__enter__()


def test_publickey_auth(host_dir: Path) -> None:
    key = paramiko.ECDSAKey.generate()
    with SimSshServer("esx01", host_dir, password=PASSWORD, authorized_keys=[key]) as server:
        with raw_client(server, password=None, pkey=key) as client:
            assert run(client, "echo key")[0] == "key\n"
        with pytest.raises(paramiko.AuthenticationException):
            raw_client(server, password=None, pkey=paramiko.ECDSAKey.generate()).__enter__()


def test_many_concurrent_channels_never_see_channel_closed(sim_server: SimSshServer) -> None:
    errors: list[BaseException] = []
    with raw_client(sim_server) as client:

        def one() -> None:
            try:
                assert run(client, "true") == ("", "", 0)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=one) for _ in range(40)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert errors == []
    assert len(sim_server.received) == 40


@pytest.mark.parametrize("how", ["down", "offline"])
def test_refuses_connections_when_down_or_rebooting(
    sim_server: SimSshServer, host_dir: Path, how: str
) -> None:
    if how == "down":
        sim_server.down = True
    else:
        (host_dir / "offline").write_text(f"{time.time() + 60:.0f}\n")
    with pytest.raises(paramiko.SSHException):
        raw_client(sim_server).__enter__()
    assert sim_server.refused == 1
    sim_server.down = False
    (host_dir / "offline").write_text(f"{time.time() - 1:.0f}\n")  # reboot over
    with raw_client(sim_server) as client:
        assert run(client, "echo back")[0] == "back\n"


def test_cut_output_closes_without_exit_status(sim_server: SimSshServer) -> None:
    sim_server.cut_output_at = 5
    with raw_client(sim_server) as client:
        _, out, _ = client.exec_command("echo 0123456789", timeout=5)
        assert out.read() == b"01234"
        assert out.channel.recv_exit_status() == -1


def test_stop_joins_every_thread(host_dir: Path) -> None:
    baseline = set(threading.enumerate())
    server = SimSshServer("esx01", host_dir, password=PASSWORD)
    server.start()
    server.hang_commands = True
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # test-only client
    client.connect(
        "127.0.0.1",
        port=server.port,
        username="root",
        password=PASSWORD,
        look_for_keys=False,
        allow_agent=False,
        timeout=5,
    )
    client.exec_command("sleep 30", timeout=5)
    server.stop()
    client.close()
    assert extra_threads(baseline) == []


async def test_fleet_of_200_hosts_one_acceptor(tmp_path: Path) -> None:
    dirs = {f"esx{i:03d}": make_host_dir(tmp_path / "hosts", f"esx{i:03d}") for i in range(200)}
    baseline = set(threading.enumerate())
    fleet = SimSshFleet(dirs, PASSWORD, tmp_path)
    fleet.start()
    try:
        assert len(extra_threads(baseline, wait=0)) == 1  # idle listeners share one thread
        lines = fleet.known_hosts_path.read_text().splitlines()
        assert len(lines) == 200 and len(fleet.entries()) == 200
        assert len({port for _, _, port in fleet.entries()}) == 200
        transport = SshTransport(SshSettings(fleet.known_hosts_path, password=PASSWORD))
        try:
            hosts = [host_entry(name, port) for name, _, port in fleet.entries()]
            line = "echo $AIO_SIM_HOST_DIR"
            results = await bounded(asyncio.gather(*(transport.run(h, line) for h in hosts)), 20)
        finally:
            await transport.close()
        for host, result in zip(hosts, results, strict=True):
            assert result.stdout.strip().endswith(host.name)
    finally:
        fleet.stop()
    assert extra_threads(baseline) == []
