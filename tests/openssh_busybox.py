"""A real OpenSSH sshd on 127.0.0.1 whose shell and awk are busybox, as on ESXi, in front of
one simulated host directory (bot/sim: stand-in vmkvsitools, esxcli, vmware printing real
formats). Used by tests/test_compound_read.py and bench/peers.py.

Two ways to get busybox as the shell:
- `user=None`: the current user, with a ForceCommand that runs the line with busybox sh;
- `user="aio-peer"` (root only): a dedicated account whose login shell IS busybox sh, so
  sshd itself starts busybox as ESXi's sshd does.

When the process may (root), sshd runs in its own mount namespace with the host
directory's var/log bound over /var/log, so `/var/log/vmkernel.log` and `hostd.log` in the
command lines are the simulated host's; elsewhere those reads fail (and say so)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
BUSYBOX = shutil.which("busybox")
APPLETS = ("sh", "awk", "grep", "sort", "uniq", "head", "tail", "cat", "wc", "sed", "tr")


def available() -> str | None:
    """None when sshd, ssh-keygen and busybox are installed; else what is missing."""
    if not SSHD.exists() or shutil.which("ssh-keygen") is None:
        return "OpenSSH server not installed (apt-get install openssh-server)"
    if BUSYBOX is None:
        return "busybox not installed (apt-get install busybox)"
    return None


@dataclass(frozen=True)
class BusyboxSshd:
    port: int
    user: str
    key_file: Path
    known_hosts: Path  # `[127.0.0.1]:<port>` and every alias written by `trust`
    public_key: str  # `keytype base64`
    logs_bound: bool  # /var/log is the simulated host's

    def trust(self, port: int) -> None:
        """Add the host key for another port (a relay in front of this sshd)."""
        with self.known_hosts.open("a") as fh:
            fh.write(f"[127.0.0.1]:{port} {self.public_key}\n")


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                   check=True, capture_output=True, timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _busybox_bin(tmp: Path) -> Path:
    bb = tmp / "busybox-bin"
    bb.mkdir()
    for applet in APPLETS:
        (bb / applet).symlink_to(str(BUSYBOX))
    return bb


def _dedicated_user(user: str, shell: Path, home: Path) -> None:
    """The account exists with busybox sh as its login shell and is not locked."""
    exists = subprocess.run(["id", "-u", user], capture_output=True).returncode == 0
    if not exists:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", str(home),
                        "--shell", str(shell), user], check=True, capture_output=True)
    subprocess.run(["usermod", "--shell", str(shell), "--home", str(home), "-p", "*", user],
                   check=True, capture_output=True)


def _wait_listening(port: int, proc: subprocess.Popen[bytes], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"sshd exited: {err}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("sshd did not start listening")


def _can_bind_logs() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"],
                           capture_output=True)
    return probe.returncode == 0


@contextmanager
def busybox_sshd(tmp: Path, host_dir: Path, *, user: str | None = None) -> Iterator[BusyboxSshd]:
    """Start the sshd (see the module's docstring); stopped on exit."""
    tmp = tmp.resolve()
    tmp.chmod(0o755)
    bb = _busybox_bin(tmp)
    _keygen(tmp / "ssh_host_ed25519_key")
    _keygen(tmp / "id_ed25519")
    (tmp / "authorized_keys").write_text((tmp / "id_ed25519.pub").read_text())
    path = f"{host_dir}/bin:{bb}:/usr/bin:/bin"
    port = _free_port()
    lines = [f"Port {port}", "ListenAddress 127.0.0.1",
             f"HostKey {tmp}/ssh_host_ed25519_key", f"PidFile {tmp}/sshd.pid",
             f"AuthorizedKeysFile {tmp}/authorized_keys", "PasswordAuthentication no",
             "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
             "PermitRootLogin prohibit-password", "MaxStartups 400:30:800",
             "MaxSessions 20", "LogLevel ERROR", f"SetEnv PATH={path} LC_ALL=C"]
    if user is None:
        import getpass
        login = getpass.getuser()
        wrapper = tmp / "wrapper"
        wrapper.write_text(f"#!/bin/sh\nPATH={path}\nexport PATH\n"
                           f'exec {bb}/sh -c "$SSH_ORIGINAL_COMMAND"\n')
        wrapper.chmod(0o755)
        lines.append(f"ForceCommand {wrapper}")
    else:
        login = user
        home = tmp / "home"
        home.mkdir()
        _dedicated_user(user, bb / "sh", home)
        _open_tree(host_dir)
    config = tmp / "sshd_config"
    config.write_text("\n".join(lines) + "\n")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    sshd = [str(SSHD), "-D", "-e", "-f", str(config)]
    bind = _can_bind_logs()
    if bind:
        logs = host_dir / "var" / "log"
        sshd = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount --bind "$1" /var/log && shift && exec "$@"', "sh", str(logs), *sshd]
    proc = subprocess.Popen(sshd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_listening(port, proc)
        public = " ".join((tmp / "ssh_host_ed25519_key.pub").read_text().split()[:2])
        known = tmp / "known_hosts"
        known.write_text(f"[127.0.0.1]:{port} {public}\n")
        yield BusyboxSshd(port, login, tmp / "id_ed25519", known, public, bind)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stderr is not None:
            proc.stderr.close()


def _open_tree(root: Path) -> None:
    """Let another account read the host directory (and walk down to it)."""
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            with suppress(OSError):
                p = Path(dirpath, name)
                p.chmod(p.stat().st_mode | 0o444)
    parent = root.parent
    while parent != parent.parent:
        with suppress(OSError):
            parent.chmod(parent.stat().st_mode | 0o111)
        parent = parent.parent
