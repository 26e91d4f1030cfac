"""The blocking half of the SSH transport: connect one client, run one command on it.

Everything here runs in a worker thread and gives up by itself at its deadline, so a
caller's timeout really ends the work (`asyncio.wait_for` around a thread would not)."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import paramiko

from bot.errors import (
    AuthFailed,
    CommandTimeout,
    HostError,
    HostKeyChanged,
    HostUnreachable,
    OutputTooLarge,
    OutputTruncated,
)
from bot.esx.known_hosts import KnownHosts, StrictClient
from bot.esx.ssh_auth import PasswordFirstInteractive, failure_detail
from bot.inventory import HostEntry

log = logging.getLogger(__name__)

_CHUNK = 65536
_POLL = 0.5  # longest single wait, so a cancelled command notices within this


@dataclass(frozen=True, slots=True)
class Output:
    stdout: bytes
    stderr: bytes
    exit_status: int


class Cancelled(Exception):
    """The caller stopped waiting; the channel has been closed."""


class StaleConnection(Exception):
    """The cached connection could not open a channel; nothing ran. Reconnect and retry."""


@dataclass(frozen=True, slots=True)
class ConnectParams:
    known_hosts: KnownHosts
    password: str | None = field(repr=False)
    key_file: str | None
    connect_timeout: float
    banner_timeout: float
    auth_timeout: float


def connect(host: HostEntry, params: ConnectParams, command: str) -> paramiko.SSHClient:
    """A connected, authenticated client, or the HostError that says why not."""
    if params.key_file is not None and not os.access(params.key_file, os.R_OK):
        raise AuthFailed(host.name, command, f"cannot read key file {params.key_file}")
    client = StrictClient(host, params.known_hosts.keys_for(host))
    try:
        client.connect(
            host.address,
            port=host.port,
            username=host.username,
            password=params.password,
            key_filename=params.key_file,
            timeout=params.connect_timeout,
            banner_timeout=params.banner_timeout,
            auth_timeout=params.auth_timeout,
            channel_timeout=params.connect_timeout,
            look_for_keys=False,
            allow_agent=False,
            auth_strategy=_password_auth(host, params),
        )
    except BaseException as exc:
        close_client(client)
        if isinstance(exc, HostError):
            raise
        if isinstance(exc, (OSError, EOFError, paramiko.SSHException)):
            raise connect_error(host, command, exc) from exc
        raise
    return client


def _password_auth(host: HostEntry, params: ConnectParams) -> PasswordFirstInteractive | None:
    """Password only: keyboard-interactive first, as ESXi 8 wants (see bot.esx.ssh_auth).
    With a key file, paramiko's own order: the key, then the password if any."""
    if params.key_file is None and params.password is not None:
        return PasswordFirstInteractive(host.username, params.password)
    return None


def connect_error(host: HostEntry, command: str, exc: BaseException) -> HostError:
    if isinstance(exc, paramiko.BadHostKeyException):
        return HostKeyChanged(host.name, exc.key.fingerprint)
    if isinstance(exc, paramiko.AuthenticationException) or (
        isinstance(exc, paramiko.SSHException) and "authentication" in str(exc).lower()
    ):  # also "No authentication methods available": no password and no key given
        return AuthFailed(host.name, command, f"as {host.username}: {failure_detail(exc)}")
    # the address goes to the log only: users read the host's name (Slack shows errors)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        log.info("ssh %s (%s:%d): connect timed out", host.name, host.address, host.port)
        return HostUnreachable(host.name, command, "timed out")
    detail = str(exc) or type(exc).__name__
    log.info("ssh %s (%s:%d): %s", host.name, host.address, host.port, detail)
    return HostUnreachable(host.name, command, _without_address(detail, host))


def execute(
    host: HostEntry,
    client: paramiko.SSHClient,
    command: str,
    *,
    deadline: float,
    timeout: float,
    max_bytes: int,
    cancel: threading.Event,
    guard: Callable[[], None] | None = None,
) -> Output:
    """Run `command` on a fresh session channel of `client`; close the channel after.
    `guard`, when given, is called right before the command is sent (it raises to stop it).

    Raises CommandTimeout at `deadline` (time.monotonic()), OutputTooLarge past `max_bytes`,
    OutputTruncated when the channel closes without an exit status, Cancelled on `cancel`."""
    transport = client.get_transport()
    if transport is None or not transport.is_active():
        raise StaleConnection("connection not active")
    try:
        chan = transport.open_session(timeout=max(0.1, deadline - time.monotonic()))
    except (OSError, EOFError, paramiko.SSHException) as exc:
        raise StaleConnection(str(exc)) from exc
    try:
        chan.settimeout(_POLL)
        if guard is not None:
            guard()
        try:
            _exec_bounded(chan, command, deadline)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            if time.monotonic() >= deadline:
                raise CommandTimeout(host.name, command, f"after {timeout:g} s") from exc
            raise HostUnreachable(host.name, command, f"connection lost: {exc}") from exc
        out, err = _drain(host, chan, command, deadline, timeout, max_bytes, cancel)
        if not chan.status_event.wait(max(0.0, deadline - time.monotonic())):
            raise CommandTimeout(host.name, command, f"after {timeout:g} s")
        status = chan.exit_status
        if status == -1:  # closed without an exit status
            where = "mid-line" if out and not out.endswith(b"\n") else "before it ended"
            raise OutputTruncated(
                host.name, command, f"channel closed without exit status, {where}"
            )
        return Output(bytes(out), bytes(err), status)
    finally:
        close_channel(chan)


def _exec_bounded(chan: paramiko.Channel, command: str, deadline: float) -> None:
    """exec_command waits for the server's reply without a timeout: close the channel at the
    deadline so that wait ends too."""
    timer = threading.Timer(max(0.0, deadline - time.monotonic()), close_channel, (chan,))
    timer.daemon = True
    timer.name = "aio-ssh-exec-deadline"
    timer.start()
    try:
        chan.exec_command(command)
    finally:
        timer.cancel()
        timer.join()


def _drain(
    host: HostEntry,
    chan: paramiko.Channel,
    command: str,
    deadline: float,
    timeout: float,
    max_bytes: int,
    cancel: threading.Event,
) -> tuple[bytearray, bytearray]:
    """Read stdout and stderr as they come until both end (draining both before the exit
    status: paramiko deadlocks otherwise once a window fills).

    Waits on a threading.Event that paramiko's buffers set, not on `chan.fileno()`: that
    OS pipe is written by the transport thread on every packet that arrives and closed by
    `Channel.close()` without a lock between them. Closed while the host still sends (over
    the limit, cancelled), the transport thread's write fails (EPIPE, EBADF: or lands in
    whatever reused the descriptor), paramiko takes that for a socket error and tears the
    whole connection down, and the close itself then raises EOFError."""
    out, err = bytearray(), bytearray()
    ready = _data_event(chan)
    while True:
        if chan.recv_ready():
            out += chan.recv(_CHUNK)
        if chan.recv_stderr_ready():
            err += chan.recv_stderr(_CHUNK)
        if len(out) + len(err) > max_bytes:
            raise OutputTooLarge(host.name, command, f"more than {max_bytes} bytes")
        if (chan.eof_received or chan.closed) and not (
            chan.recv_ready() or chan.recv_stderr_ready()
        ):
            return out, err
        if cancel.is_set():
            raise Cancelled
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CommandTimeout(host.name, command, f"after {timeout:g} s")
        if not (chan.recv_ready() or chan.recv_stderr_ready()):
            ready.wait(min(remaining, _POLL))


def _data_event(chan: paramiko.Channel) -> threading.Event:
    """An event set when stdout or stderr has data or has ended. Reads clear it when their
    buffer empties: check both buffers after reading and before waiting on it."""
    ready = threading.Event()
    chan.in_buffer.set_event(ready)
    chan.in_stderr_buffer.set_event(ready)
    return ready


def _without_address(detail: str, host: HostEntry) -> str:
    """OS errors name the address (`[Errno 111] Connect call failed ('10.0.0.11', 22)`)."""
    for shown in (f"('{host.address}', {host.port})", f"{host.address}:{host.port}",
                  host.address):
        if host.address != host.name:
            detail = detail.replace(shown, "")
    return " ".join(detail.split()) or "connection failed"


def close_channel(chan: paramiko.Channel) -> None:
    """Close a channel; a second close does nothing. The command's outcome is decided by now:
    a connection that dies under the close (EOFError from the socket, a key exchange that
    times out) does not replace it, and the pool finds the dead transport before reusing it."""
    try:
        chan.close()
    except (OSError, EOFError, paramiko.SSHException) as exc:
        log.debug("ssh: closing channel %d: %s", chan.get_id(), str(exc) or type(exc).__name__)


def close_client(client: paramiko.SSHClient) -> None:
    """Close a connection and make sure its reader thread ends: paramiko's close() alone
    can leave the thread in `recv` on the closed socket (paramiko issue #520; seen here in the
    fault soak as transports alive long after close). Shutting the socket down first wakes
    that `recv` with an end of file, and the far end sees one too."""
    transport = client.get_transport()
    if transport is not None:
        with contextlib.suppress(OSError):
            transport.sock.shutdown(socket.SHUT_RDWR)
    client.close()
