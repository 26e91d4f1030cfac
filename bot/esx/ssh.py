"""`Transport` over SSH (paramiko): one client per host, reused across commands and
re-opened when its connection dies; commands serialised per host; hosts worked on at once
bounded by a semaphore; the blocking work in a thread pool of the same size, so the event
loop never blocks. Host keys are checked against a known_hosts file (RejectPolicy)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

from bot.errors import CommandFailed, CommandTimeout
from bot.esx import send_guard, ssh_exec
from bot.esx.known_hosts import KnownHosts
from bot.esx.transport import CommandResult
from bot.inventory import HostEntry
from bot.threads import started_pool

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SshSettings:
    """How to reach hosts over SSH. The password comes from the environment (by the caller)
    and is never shown: not in repr, logs or error messages."""

    known_hosts: Path
    password: str | None = field(default=None, repr=False)
    key_file: Path | None = None
    connect_timeout: float = 10.0
    banner_timeout: float = 10.0
    auth_timeout: float = 10.0
    command_timeout: float = 60.0
    max_output_bytes: int = 1 << 20
    max_parallel: int = 32
    # Connections kept open between commands, least recently used closed first. Each open
    # paramiko connection has a thread that wakes ten times a second: a 1,000-host fleet
    # kept connected slows the event loop (bench/ack.py) for little gain.
    max_idle_connections: int = 64

    def connect_params(self) -> ssh_exec.ConnectParams:
        return ssh_exec.ConnectParams(
            known_hosts=KnownHosts(str(self.known_hosts)),
            password=self.password,
            key_file=str(self.key_file) if self.key_file is not None else None,
            connect_timeout=self.connect_timeout,
            banner_timeout=self.banner_timeout,
            auth_timeout=self.auth_timeout,
        )


class SshTransport:
    """Runs fixed command lines on ESXi hosts over SSH."""

    def __init__(self, settings: SshSettings) -> None:
        self._settings = settings
        self._params = settings.connect_params()
        self._semaphore = asyncio.Semaphore(settings.max_parallel)
        self._locks: dict[HostEntry, asyncio.Lock] = {}
        self._clients: dict[HostEntry, paramiko.SSHClient] = {}  # least recently used first
        self._busy: set[HostEntry] = set()
        # One worker per host at a time, in the threads too: a cancelled command's worker
        # may still be connecting when the host's asyncio lock lets the next command in, and
        # two workers connecting at once would each cache a client (one never closed).
        self._host_workers: dict[HostEntry, threading.Lock] = {}
        self._clients_lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._stats = {"connections_opened": 0, "commands_run": 0, "bytes_received": 0}

    def __repr__(self) -> str:
        return f"SshTransport({self._settings!r})"

    async def run(
        self, host: HostEntry, command: str, *, timeout: float | None = None, check: bool = True
    ) -> CommandResult:
        limit = self._settings.command_timeout if timeout is None else timeout
        lock = self._locks.setdefault(host, asyncio.Lock())
        async with lock, self._semaphore:
            log.debug("ssh %s: running %r", host.name, command)
            cancel = threading.Event()
            future = asyncio.get_running_loop().run_in_executor(
                await self._pool(), self._run_blocking, host, command, limit, cancel,
                send_guard.current(),
            )
            try:
                result = await future
            except asyncio.CancelledError:
                cancel.set()  # the thread closes its channel within a poll interval
                raise
        if check and result.exit_status != 0:
            raise CommandFailed(host.name, command, result.exit_status, result.stderr)
        return result

    async def start(self) -> None:
        """Start the worker threads now (else the first command starts them)."""
        await self._pool()

    async def close(self) -> None:
        """Close every connection and the worker threads."""
        executor, self._executor = self._executor, None
        await asyncio.to_thread(self._close_all, executor)

    def stats(self) -> dict[str, int]:
        """Counters for metrics: connections opened, commands run, bytes received."""
        with self._clients_lock:
            return {**self._stats, "connections_open": len(self._clients)}

    async def _pool(self) -> ThreadPoolExecutor:
        """The SSH worker threads, all started, in a worker thread (see bot.threads)."""
        if self._executor is None:
            pool = await asyncio.to_thread(started_pool, self._settings.max_parallel, "aio-ssh")
            if self._executor is None:
                self._executor = pool
            else:  # another first command got there first
                pool.shutdown(wait=False)
        return self._executor

    def _close_all(self, executor: ThreadPoolExecutor | None) -> None:
        if executor is not None:
            executor.shutdown(wait=True)
        with self._clients_lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            ssh_exec.close_client(client)

    def _run_blocking(
        self, host: HostEntry, command: str, timeout: float, cancel: threading.Event,
        guard: send_guard.SendGuard | None = None,
    ) -> CommandResult:
        deadline = time.monotonic() + timeout
        with self._clients_lock:
            worker = self._host_workers.setdefault(host, threading.Lock())
        if not worker.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise CommandTimeout(host.name, command, "waiting for the host's previous command")
        with self._clients_lock:
            self._busy.add(host)
        try:
            output = self._execute(host, command, deadline, timeout, cancel, guard)
        except CommandTimeout:
            self._drop(host)  # the host may still be busy: start afresh next time
            raise
        except ssh_exec.Cancelled:
            log.debug("ssh %s: cancelled %r", host.name, command)
            raise
        finally:
            with self._clients_lock:
                self._busy.discard(host)
            worker.release()
        received = len(output.stdout) + len(output.stderr)
        with self._clients_lock:
            self._stats["commands_run"] += 1
            self._stats["bytes_received"] += received
        return CommandResult(
            host=host.name,
            command=command,
            stdout=output.stdout.decode("utf-8", errors="replace"),
            stderr=output.stderr.decode("utf-8", errors="replace"),
            exit_status=output.exit_status,
            bytes_received=received,
        )

    def _execute(
        self,
        host: HostEntry,
        command: str,
        deadline: float,
        timeout: float,
        cancel: threading.Event,
        guard: send_guard.SendGuard | None = None,
    ) -> ssh_exec.Output:
        limit = self._settings.max_output_bytes
        for attempt in (1, 2):
            client = self._client(host, command)
            try:
                return ssh_exec.execute(
                    host, client, command,
                    deadline=deadline, timeout=timeout, max_bytes=limit, cancel=cancel,
                    guard=guard,
                )
            except ssh_exec.StaleConnection as exc:
                log.debug("ssh %s: stale connection (%s), reconnecting", host.name, exc)
                self._drop(host)
                if attempt == 2:
                    raise ssh_exec.connect_error(host, command, exc) from exc
        raise AssertionError("unreachable")

    def _client(self, host: HostEntry, command: str) -> paramiko.SSHClient:
        with self._clients_lock:
            client = self._clients.pop(host, None)
            if client is not None:
                self._clients[host] = client  # now the most recently used
        if client is not None:
            transport = client.get_transport()
            if transport is not None and transport.is_active():
                return client
            self._drop(host)
        log.debug("ssh %s: connecting to %s:%d as %s", host.name, host.address, host.port,
                  host.username)
        client = ssh_exec.connect(host, self._params, command)
        with self._clients_lock:
            self._clients[host] = client
            self._stats["connections_opened"] += 1
            idle = [h for h in self._clients if h not in self._busy]
            excess = idle[: max(0, len(self._clients) - self._settings.max_idle_connections)]
            evicted = [self._clients.pop(h) for h in excess]
        for old in evicted:
            ssh_exec.close_client(old)
        return client

    def _drop(self, host: HostEntry) -> None:
        with self._clients_lock:
            client = self._clients.pop(host, None)
        if client is not None:
            ssh_exec.close_client(client)

