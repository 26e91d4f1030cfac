"""Simulated ESXi hosts behind real SSH: paramiko's server side on 127.0.0.1.

Each host runs every exec request through `/bin/sh -c` with the host's own `bin/` first on
PATH (its fake `vmkvsitools`, `esxcli`, `vmware`), and `/var/log/`, `/var/core/` rewritten
into its directory, so pipelines behave as in ESXi's busybox shell. Like ESXi 8 it takes
passwords through keyboard-interactive (and public keys), never the "password" method.

One acceptor thread serves every listening socket of a fleet; each connection then has
paramiko's transport thread, and each running command one worker thread. A command starts
only once the server's reply to the exec request is on the wire: a worker that finishes
first would close the channel before the client sees the reply ("Channel closed")."""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import re
import selectors
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import paramiko
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)
from paramiko.server import InteractiveQuery

from bot.sim.files import spawn_gate

log = logging.getLogger(__name__)

_MSG_CHANNEL_SUCCESS = 99
_RELEASE_FALLBACK = 2.0  # seconds to wait for the exec reply (want_reply=False never sends one)
_CHUNK = 32768
_VAR_PATH = re.compile(r"(?<![\w.-])/var/(log|core)(?=/|\b)")


_REBOOT_DROP_DELAY = 0.2  # let the exit status of `reboot` reach the client first


class _Acceptor:
    """One thread accepting connections on any number of listening sockets."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._ops: list[tuple[str, socket.socket, Any, threading.Event]] = []
        self._lock = threading.Lock()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="sim-sshd-accept", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def add(self, sock: socket.socket, server: SimSshServer) -> None:
        self._submit("add", sock, server)

    def remove(self, sock: socket.socket) -> None:
        self._submit("remove", sock, None)

    def _submit(self, op: str, sock: socket.socket, server: Any) -> None:
        done = threading.Event()
        with self._lock:
            if self._stopping or not self._thread.is_alive():
                return
            self._ops.append((op, sock, server, done))
        self._wake_w.send(b"x")
        done.wait(5.0)

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
        if self._thread.is_alive():
            self._wake_w.send(b"x")
            self._thread.join(5.0)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _loop(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                ops, self._ops = self._ops, []
            for op, sock, server, done in ops:
                if op == "add":
                    self._selector.register(sock, selectors.EVENT_READ, server)
                else:
                    self._selector.unregister(sock)
                done.set()
            for key, _ in self._selector.select(timeout=1.0):
                if key.data is None:
                    self._wake_r.recv(4096)
                else:
                    self._accept(key.fileobj, key.data)

    @staticmethod
    def _accept(sock: Any, server: SimSshServer) -> None:
        try:
            conn, _ = sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        try:
            server._on_accept(conn)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            log.warning("%s: could not serve a connection: %s", server.name, exc)
            conn.close()


class _SimTransport(paramiko.Transport):
    """Tells its session when an exec reply has been sent, so the command may start."""

    session: _Session | None = None

    def _send_user_message(self, data: paramiko.Message) -> None:
        paramiko.Transport._send_user_message(self, data)  # type: ignore[attr-defined]
        raw = data.asbytes()
        if self.session is not None and len(raw) >= 5 and raw[0] == _MSG_CHANNEL_SUCCESS:
            self.session.replied(struct.unpack(">I", raw[1:5])[0])


class _Session(paramiko.ServerInterface):
    """The server side of one SSH connection."""

    def __init__(self, server: SimSshServer, transport: _SimTransport) -> None:
        self._server = server
        self._transport = transport
        self._user = ""
        self._pending: dict[int, threading.Event] = {}
        self._lock = threading.Lock()

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,keyboard-interactive"

    def check_auth_interactive(
        self, username: str, submethods: str
    ) -> int | InteractiveQuery:
        self._user = username
        return InteractiveQuery("", "", ("Password: ", False))

    def check_auth_interactive_response(
        self, responses: list[str]
    ) -> int | InteractiveQuery:
        ok = len(responses) == 1 and self._server._password_ok(self._user, responses[0])
        return AUTH_SUCCESSFUL if ok else AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = self._server._key_ok(username, key)
        return AUTH_SUCCESSFUL if ok else AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return OPEN_SUCCEEDED
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        if self._server._offline():
            return False  # rebooting: a real host's sshd is gone
        line = command.decode("utf-8", errors="replace")
        released = threading.Event()
        with self._lock:
            self._pending[channel.remote_chanid] = released
        self._server._spawn(self._transport, channel, line, released)
        return True

    def replied(self, remote_chanid: int) -> None:
        with self._lock:
            released = self._pending.pop(remote_chanid, None)
        if released is not None:
            released.set()


class SimSshServer:
    """One simulated ESXi host's SSH server."""

    def __init__(
        self,
        name: str,
        host_dir: Path,
        *,
        password: str,
        host_key: paramiko.PKey | None = None,
        authorized_keys: Sequence[paramiko.PKey] = (),
        address: str = "127.0.0.1",
        port: int = 0,
        username: str = "root",
    ) -> None:
        self.name = name
        self.host_dir = Path(host_dir).resolve()
        self.host_key: paramiko.PKey = host_key or paramiko.ECDSAKey.generate()
        self.address = address
        self.port = port
        self.username = username
        self._password = password
        self._authorized = [k.asbytes() for k in authorized_keys]
        self.hang_commands = False
        self.cut_output_at: int | None = None
        self.down = False
        self.accepted = 0
        self.refused = 0
        self._received: list[str] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._sock: socket.socket | None = None
        self._acceptor: _Acceptor | None = None
        self._own_acceptor = False
        self._transports: set[_SimTransport] = set()
        self._workers: set[threading.Thread] = set()
        self._procs: set[subprocess.Popen[bytes]] = set()

    def __repr__(self) -> str:
        return f"SimSshServer({self.name!r}, {self.address}:{self.port})"

    @property
    def received(self) -> list[str]:
        """Every exec command line received, verbatim, oldest first."""
        with self._lock:
            return list(self._received)

    def known_hosts_line(self) -> str:
        where = self.address if self.port == 22 else f"[{self.address}]:{self.port}"
        return f"{where} {self.host_key.get_name()} {self.host_key.get_base64()}"

    def start(self) -> None:
        acceptor = _Acceptor()
        acceptor.start()
        self._own_acceptor = True
        self._start_with(acceptor)

    def _start_with(self, acceptor: _Acceptor) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.address, self.port))
        sock.listen(64)
        sock.setblocking(False)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._acceptor = acceptor
        acceptor.add(sock, self)

    def stop(self) -> None:
        """Stop listening, end every connection and command, join every thread."""
        self._stopping.set()
        if self._acceptor is not None and self._sock is not None:
            if self._own_acceptor:
                self._acceptor.stop()
            else:
                self._acceptor.remove(self._sock)
        if self._sock is not None:
            self._sock.close()
        with self._lock:
            procs = list(self._procs)
        for proc in procs:
            _kill(proc)
        self.drop_connections()
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join(5.0)

    def drop_connections(self) -> None:
        """Close every open connection, as a host that restarts its SSH service would."""
        with self._lock:
            transports = list(self._transports)
            self._transports.clear()
        for transport in transports:
            transport.close()

    def __enter__(self) -> SimSshServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _offline(self) -> bool:
        if self.down or self._stopping.is_set():
            return True
        marker = self.host_dir / "offline"
        try:
            until = float(marker.read_text().strip() or "0")
        except FileNotFoundError:
            return False
        except (OSError, ValueError):
            log.warning("%s: unreadable %s, treating the host as online", self.name, marker)
            return False
        return until > time.time()

    def _on_accept(self, conn: socket.socket) -> None:
        conn.setblocking(True)
        if self._offline():
            self.refused += 1
            conn.close()
            return
        transport = _SimTransport(conn)
        transport.add_server_key(self.host_key)
        transport.session = _Session(self, transport)
        with self._lock:
            self.accepted += 1
            self._transports = {t for t in self._transports if t.is_alive()}
            self._transports.add(transport)
        transport.start_server(event=threading.Event(), server=transport.session)

    def _password_ok(self, username: str, password: str) -> bool:
        same = hmac.compare_digest(password.encode(), self._password.encode())
        return same and username == self.username

    def _key_ok(self, username: str, key: paramiko.PKey) -> bool:
        return username == self.username and key.asbytes() in self._authorized

    def _spawn(
        self,
        transport: paramiko.Transport,
        channel: paramiko.Channel,
        line: str,
        released: threading.Event,
    ) -> None:
        with self._lock:
            self._received.append(line)
            worker = threading.Thread(
                target=self._work,
                args=(transport, channel, line, released),
                name=f"sim-sshd-{self.name}-cmd",
                daemon=True,
            )
            self._workers.add(worker)
        worker.start()

    def _work(
        self,
        transport: paramiko.Transport,
        channel: paramiko.Channel,
        line: str,
        released: threading.Event,
    ) -> None:
        try:
            if not released.wait(_RELEASE_FALLBACK):
                log.debug("%s: no exec reply seen, starting anyway", self.name)
            if self.hang_commands:
                while not (self._stopping.is_set() or channel.closed or not transport.is_active()):
                    self._stopping.wait(0.05)
                return
            self._run(channel, line)
            if self._offline():  # the command rebooted the host: its connections go down
                threading.Timer(_REBOOT_DROP_DELAY, self.drop_connections).start()
        except (OSError, EOFError, paramiko.SSHException) as exc:
            log.debug("%s: command ended early: %s", self.name, exc)
        finally:
            with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
                channel.close()  # the connection may already be gone
            with self._lock:
                self._workers.discard(threading.current_thread())

    def _run(self, channel: paramiko.Channel, line: str) -> None:
        env = {
            "PATH": f"{self.host_dir / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "AIO_SIM_HOST_DIR": str(self.host_dir),
        }
        if "PYTHONPATH" in os.environ:
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        with spawn_gate.spawning():  # no tool is being written while the child forks
            proc = subprocess.Popen(
                ["/bin/sh", "-c", self.rewrite(line)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=self.host_dir,
                start_new_session=True,
            )
        with self._lock:
            self._procs.add(proc)
        try:
            if self._pump(channel, proc):
                channel.send_exit_status(_exit_status(proc.wait()))
        finally:
            _kill(proc)
            with self._lock:
                self._procs.discard(proc)

    def rewrite(self, line: str) -> str:
        """The command line with `/var/log`, `/var/core` moved into the host's directory."""
        return _VAR_PATH.sub(lambda m: f"{self.host_dir}/var/{m.group(1)}", line)

    def _pump(self, channel: paramiko.Channel, proc: subprocess.Popen[bytes]) -> bool:
        """Stream the command's stdout and stderr; False when the output was cut short."""
        assert proc.stdout is not None and proc.stderr is not None
        budget = self.cut_output_at
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ, channel.sendall)
            sel.register(proc.stderr, selectors.EVENT_READ, channel.sendall_stderr)
            while sel.get_map():
                if channel.closed or self._stopping.is_set():
                    return False
                for key, _ in sel.select(timeout=0.2):
                    data = os.read(key.fd, _CHUNK)
                    if not data:
                        sel.unregister(key.fileobj)
                        continue
                    if budget is not None and key.fileobj is proc.stdout:
                        data, budget = data[:budget], budget - len(data)
                        channel.sendall(data)
                        if budget <= 0:
                            return False
                        continue
                    key.data(data)
        return True


def _exit_status(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


class SimSshFleet:
    """Many simulated hosts behind one acceptor thread, with one known_hosts file."""

    def __init__(
        self,
        host_dirs: dict[str, Path],
        password: str,
        workdir: Path,
        *,
        authorized_keys: Sequence[paramiko.PKey] = (),
        address: str = "127.0.0.1",
    ) -> None:
        self.known_hosts_path = Path(workdir) / "known_hosts"
        self.servers: dict[str, SimSshServer] = {
            name: SimSshServer(
                name, path, password=password, authorized_keys=authorized_keys, address=address
            )
            for name, path in host_dirs.items()
        }
        self._acceptor: _Acceptor | None = None

    def start(self) -> None:
        self._acceptor = _Acceptor()
        self._acceptor.start()
        for server in self.servers.values():
            server._start_with(self._acceptor)
        lines = [server.known_hosts_line() for server in self.servers.values()]
        self.known_hosts_path.parent.mkdir(parents=True, exist_ok=True)
        self.known_hosts_path.write_text("".join(f"{line}\n" for line in lines))

    def stop(self) -> None:
        if self._acceptor is not None:
            self._acceptor.stop()
        for server in self.servers.values():
            server.stop()

    def entries(self) -> list[tuple[str, str, int]]:
        """(name, address, port) of every host."""
        return [(s.name, s.address, s.port) for s in self.servers.values()]

    def __enter__(self) -> SimSshFleet:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
