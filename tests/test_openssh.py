"""SshTransport against OpenSSH's sshd (not only our own paramiko server)."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.errors import CommandFailed, HostKeyUnknown
from bot.esx.ssh import SshSettings, SshTransport
from bot.inventory import HostEntry
from tests.needs import require
from tests.sshd_helpers import assert_one_line, bounded, free_port, make_host_dir

SSHD = Path("/usr/sbin/sshd")
HAVE_SSHD = SSHD.exists() and shutil.which("ssh-keygen") is not None


@dataclass(frozen=True)
class OpenSshd:
    host: HostEntry
    known_hosts: Path
    key_file: Path
    host_key_fingerprint: str
    host_dir: Path


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=10,
    )


def _wait_listening(port: int, proc: subprocess.Popen[bytes], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("sshd did not start listening")


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenSshd]:
    require(None if HAVE_SSHD else "OpenSSH server not installed (apt-get install openssh-server)")
    tmp = tmp_path_factory.mktemp("openssh")
    host_dir = make_host_dir(tmp, "esx-openssh")
    _keygen(tmp / "ssh_host_ed25519_key")
    _keygen(tmp / "id_ed25519")
    (tmp / "authorized_keys").write_text((tmp / "id_ed25519.pub").read_text())
    wrapper = tmp / "wrapper"
    wrapper.write_text(
        "#!/bin/sh\n"
        f"PATH={host_dir}/bin:/usr/local/bin:/usr/bin:/bin\n"
        "export PATH\n"
        'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n'
    )
    wrapper.chmod(0o755)
    port = free_port()
    config = tmp / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\n"
        f"HostKey {tmp}/ssh_host_ed25519_key\nPidFile {tmp}/sshd.pid\n"
        f"AuthorizedKeysFile {tmp}/authorized_keys\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        f"ForceCommand {wrapper}\n"
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    proc = subprocess.Popen(
        [str(SSHD), "-D", "-e", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_listening(port, proc)
        public = (tmp / "ssh_host_ed25519_key.pub").read_text().split()
        known_hosts = tmp / "known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{port} {public[0]} {public[1]}\n")
        listing = subprocess.run(
            ["ssh-keygen", "-l", "-f", str(tmp / "ssh_host_ed25519_key")],
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        )
        yield OpenSshd(
            host=HostEntry(
                name="esx-openssh", address="127.0.0.1", port=port, username=getpass.getuser()
            ),
            known_hosts=known_hosts,
            key_file=tmp / "id_ed25519",
            host_key_fingerprint=listing.stdout.split()[1],
            host_dir=host_dir,
        )
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stderr is not None:
            proc.stderr.close()


def _transport(known_hosts: Path, key_file: Path) -> SshTransport:
    return SshTransport(
        SshSettings(
            known_hosts,
            key_file=key_file,
            connect_timeout=5.0,
            banner_timeout=5.0,
            auth_timeout=5.0,
            command_timeout=10.0,
        )
    )


async def test_runs_commands_through_openssh(sshd: OpenSshd) -> None:
    transport = _transport(sshd.known_hosts, sshd.key_file)
    try:
        version = await bounded(transport.run(sshd.host, "vmware -v"))
        assert version.stdout == "VMware ESXi 8.0.3 build-24022510\n"
        assert version.exit_status == 0
        count = await bounded(transport.run(sshd.host, "vmkvsitools lsof | grep -c vmgfx"))
        assert count.stdout == "2\n"
        mixed = await bounded(
            transport.run(sshd.host, "echo out; echo err >&2; exit 7", check=False)
        )
        assert (mixed.stdout, mixed.stderr, mixed.exit_status) == ("out\n", "err\n", 7)
        big = await bounded(transport.run(sshd.host, "yes 0123456789 | head -c 660000"))
        assert big.bytes_received == 660000 and big.stdout.endswith("0123456789\n")
        with pytest.raises(CommandFailed) as info:
            await bounded(transport.run(sshd.host, "esxcli fail"))
        assert info.value.exit_status_remote == 3
        assert "something broke" in assert_one_line(info.value)
        assert transport.stats()["connections_opened"] == 1
    finally:
        await transport.close()


async def test_unknown_openssh_host_key_rejected(sshd: OpenSshd, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    transport = _transport(empty, sshd.key_file)
    try:
        with pytest.raises(HostKeyUnknown) as info:
            await bounded(transport.run(sshd.host, "vmware -v"))
    finally:
        await transport.close()
    assert info.value.fingerprint == sshd.host_key_fingerprint
    assert sshd.host_key_fingerprint in assert_one_line(info.value)
