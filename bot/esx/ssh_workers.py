"""SSH reads in worker processes, so that the Slack front end's event loop never waits on them.

paramiko is pure Python around its crypto: a fleet scan keeps 24 connections' worth of packet
handling busy, and in the bot's own process every one of those threads takes turns at the GIL
with the event loop that must ack Slack within 3 s. bench/load.py (1,008 hosts, bursts of 100
`/aio top` during a scan) measured acks at p50 115 ms, p99 156 ms with the reads in-process,
against p99 33 ms with no scan running. Here a `WorkerTransport` hands each read to an
`SshTransport` in a child process (its own interpreter and GIL); the bot's process only sends
the request and receives the output.

- A host is always read by the same worker (hash of its name), so its connection is reused and
  its commands stay serialised.
- A command sent under a send guard (a fenced remediation step, `bot.esx.send_guard`) runs in
  this process, on a local `SshTransport`: the guard must be checked here, right before the
  send. One asyncio lock per host covers both paths, so a step and a read never overlap.
- A worker that dies fails its commands in flight (`HostUnreachable`, saying so) and is started
  again for the next command; a cancelled command is cancelled in the worker too.
- Errors cross the pipe with their type and fields (`_pack`/`_unpack`): a host key the worker
  did not know is a `HostKeyUnknown` with its fingerprint here, as in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import itertools
import logging
import multiprocessing
import os
import queue
import signal
import socket
import threading
import zlib
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from bot import logs, messages
from bot.errors import AioBotError, CommandFailed, HostUnreachable
from bot.esx import send_guard
from bot.esx.ssh import SshSettings, SshTransport
from bot.esx.transport import CommandResult
from bot.inventory import HostEntry

log = logging.getLogger(__name__)

START_TIMEOUT = 60.0  # seconds a worker may take to start (import paramiko, start its threads)
WORKER_NICENESS = 10  # the workers' CPU priority below the bot's (see `_child_main`)
REPLY_GRACE = 30.0  # seconds past a command's own timeout before the worker is given up on

Packed = tuple[type[BaseException], tuple[Any, ...], dict[str, Any]]


@dataclasses.dataclass
class _Pending:
    host: str
    command: str
    future: asyncio.Future[CommandResult]
    conn: Connection  # the pipe it was sent on (the worker that runs it)


class WorkerTransport:
    """`Transport` whose reads run in `processes` child processes (see the module's text)."""

    def __init__(self, settings: SshSettings, processes: int = 1) -> None:
        self._settings = settings
        self._local = SshTransport(settings)
        count = max(1, processes)
        parallel = max(1, -(-settings.max_parallel // count))  # each worker its share
        self._workers = [_Worker(settings, i, parallel) for i in range(count)]
        self._locks: dict[HostEntry, asyncio.Lock] = {}

    def __repr__(self) -> str:
        return f"WorkerTransport({self._settings!r}, processes={len(self._workers)})"

    async def run(
        self, host: HostEntry, command: str, *, timeout: float | None = None, check: bool = True
    ) -> CommandResult:
        limit = self._settings.command_timeout if timeout is None else timeout
        async with self._locks.setdefault(host, asyncio.Lock()):
            if send_guard.current() is not None:  # fenced: checked here, right before the send
                result = await self._local.run(host, command, timeout=limit, check=False)
            else:
                result = await self._worker(host).run(host, command, limit)
        if check and result.exit_status != 0:
            raise CommandFailed(host.name, command, result.exit_status, result.stderr)
        return result

    async def start(self) -> None:
        """Start every worker now (else each starts with its first command)."""
        await asyncio.gather(*(w.ensure_started() for w in self._workers))

    async def close(self) -> None:
        await asyncio.gather(self._local.close(), *(w.close() for w in self._workers))

    def stats(self) -> dict[str, int]:
        """The counters of this process's transport and the workers', summed."""
        total = dict(self._local.stats())
        for worker in self._workers:
            for key, value in worker.stats.items():
                total[key] = total.get(key, 0) + value
        return total

    def worker_pids(self) -> list[int | None]:
        return [w.pid for w in self._workers]

    def _worker(self, host: HostEntry) -> _Worker:
        return self._workers[zlib.crc32(host.name.encode()) % len(self._workers)]


class _Worker:
    """One child process with an `SshTransport`, and the pipe to it."""

    def __init__(self, settings: SshSettings, index: int, parallel: int) -> None:
        self._settings = settings
        self._index = index
        self._parallel = parallel
        self._proc: BaseProcess | None = None
        self._conn: Connection | None = None
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)
        self._starting = asyncio.Lock()
        self.stats: dict[str, int] = {}

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def run(self, host: HostEntry, command: str, timeout: float) -> CommandResult:
        conn = await self.ensure_started()
        loop = asyncio.get_running_loop()
        ident = next(self._ids)
        pending = _Pending(host.name, command, loop.create_future(), conn)
        self._pending[ident] = pending
        try:
            conn.send(("run", ident, host, command, timeout))
            return await asyncio.wait_for(asyncio.shield(pending.future),
                                          timeout + REPLY_GRACE)
        except TimeoutError:  # (an OSError since 3.11: first)
            self._pending.pop(ident, None)
            log.warning("SSH worker %d did not answer for %s in %.0f s; restarting it",
                        self._index, host.name, timeout + REPLY_GRACE)
            if conn is self._conn:
                self._stop_process()
            raise HostUnreachable(host.name, command, messages.ssh_worker_stopped()) from None
        except (OSError, ValueError) as err:  # the pipe is gone: the worker died
            raise HostUnreachable(host.name, command, messages.ssh_worker_stopped()) from err
        except asyncio.CancelledError:
            self._send_quietly(("cancel", ident))
            raise
        finally:
            self._pending.pop(ident, None)

    async def ensure_started(self) -> Connection:
        async with self._starting:
            if self._conn is not None and self._proc is not None and self._proc.is_alive():
                return self._conn
            if self._proc is not None:
                log.warning("SSH worker %d (pid %s) stopped; starting it again",
                            self._index, self._proc.pid)
                self._stop_process()
            self._conn = await asyncio.to_thread(self._spawn, asyncio.get_running_loop())
            return self._conn

    def _spawn(self, loop: asyncio.AbstractEventLoop) -> Connection:
        context = multiprocessing.get_context("spawn")
        conn, child = context.Pipe()
        fmt, level = logs.current_setup()
        proc = context.Process(target=_child_main, name=f"aio-bot-ssh-{self._index}",
                               args=(child, self._settings, self._parallel, fmt, level),
                               daemon=True)
        proc.start()
        child.close()
        try:
            ready = conn.poll(START_TIMEOUT) and conn.recv() == "ready"
        except (EOFError, OSError):  # it died before it was ready
            ready = False
        if not ready:
            proc.kill()
            conn.close()
            raise HostUnreachable("(every host)", None, messages.ssh_worker_stopped())
        self._proc = proc
        threading.Thread(target=self._read_replies, args=(conn, loop),
                         name=f"aio-ssh-worker-{self._index}-replies", daemon=True).start()
        return conn

    def _read_replies(self, conn: Connection, loop: asyncio.AbstractEventLoop) -> None:
        """In a thread: every reply, handed to the event loop; at EOF, the worker is gone."""
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            try:
                loop.call_soon_threadsafe(self._deliver, message)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._lost, conn)

    def _deliver(self, message: tuple[str, int, Any, dict[str, int]]) -> None:
        kind, ident, payload, stats = message
        self.stats = stats
        pending = self._pending.get(ident)
        if pending is None or pending.future.done():
            return  # cancelled or given up on meanwhile
        if kind == "ok":
            pending.future.set_result(payload)
        else:
            pending.future.set_exception(_unpack(payload))

    def _lost(self, conn: Connection) -> None:
        """The pipe `conn` reached its end: its worker is gone, and so are its answers."""
        if conn is self._conn:
            self._conn = None
        self._fail_sent_on(conn)

    def _fail_sent_on(self, conn: Connection) -> None:
        for pending in list(self._pending.values()):
            if pending.conn is conn and not pending.future.done():
                pending.future.set_exception(HostUnreachable(
                    pending.host, pending.command, messages.ssh_worker_stopped()))

    def _send_quietly(self, message: tuple[Any, ...]) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError, ValueError):
                self._conn.send(message)

    def _stop_process(self) -> None:
        """Kill the current worker; what was sent to it fails now."""
        conn, self._conn = self._conn, None
        if conn is not None:
            _hang_up(conn)
            self._fail_sent_on(conn)
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            _hang_up(conn)  # the worker sees EOF, closes its connections and exits
        proc = self._proc
        if proc is not None:
            await asyncio.to_thread(proc.join, 10)
            if proc.is_alive():
                log.warning("SSH worker %d did not stop in 10 s; killed", self._index)
                proc.kill()


def _hang_up(conn: Connection) -> None:
    """Close the pipe so that both ends see it at once. A plain `close()` leaves the socket
    open while our reply thread is blocked reading it, and the worker would never see EOF."""
    with contextlib.suppress(OSError):
        duplicate = socket.socket(fileno=os.dup(conn.fileno()))
        try:
            duplicate.shutdown(socket.SHUT_RDWR)
        finally:
            duplicate.close()
    conn.close()


# --- in the worker process ---------------------------------------------------------------


def _child_main(conn: Connection, settings: SshSettings, parallel: int, fmt: str,
                level: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is for the bot
    os.nice(WORKER_NICENESS)  # when CPU is short, the bot's acks go first
    logs.configure(fmt, env={**os.environ, "LOG_LEVEL": logging.getLevelName(level)})
    settings = _with_parallel(settings, parallel)
    asyncio.run(_serve(conn, settings))


def _with_parallel(settings: SshSettings, parallel: int) -> SshSettings:
    return dataclasses.replace(settings, max_parallel=parallel)


async def _serve(conn: Connection, settings: SshSettings) -> None:
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[tuple[Any, ...] | None] = asyncio.Queue()
    outbox: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
    transport = SshTransport(settings)
    tasks: dict[int, asyncio.Task[None]] = {}
    await transport.start()
    conn.send("ready")
    threading.Thread(target=_receive, args=(conn, loop, inbox), daemon=True).start()
    writer = threading.Thread(target=_send_all, args=(conn, outbox), daemon=True)
    writer.start()
    try:
        while (message := await inbox.get()) is not None:
            if message[0] == "run":
                _, ident, host, command, timeout = message
                tasks[ident] = asyncio.create_task(
                    _one(transport, outbox, ident, host, command, timeout))
                tasks[ident].add_done_callback(functools.partial(_forget, tasks, ident))
            elif message[0] == "cancel" and message[1] in tasks:
                tasks[message[1]].cancel()
    finally:
        for task in tasks.values():
            task.cancel()
        await transport.close()
        outbox.put(None)
        writer.join(5)


async def _one(transport: SshTransport, outbox: queue.SimpleQueue[tuple[Any, ...] | None],
               ident: int, host: HostEntry, command: str, timeout: float) -> None:
    try:
        result = await transport.run(host, command, timeout=timeout, check=False)
        outbox.put(("ok", ident, result, transport.stats()))
    except AioBotError as err:
        outbox.put(("error", ident, _pack(err), transport.stats()))
    except Exception:  # a bug: logged here, a plain failure there
        log.exception("SSH worker: %s on %s", command, host.name)
        failure = HostUnreachable(host.name, command, messages.ssh_worker_stopped())
        outbox.put(("error", ident, _pack(failure), transport.stats()))


def _forget(tasks: dict[int, asyncio.Task[None]], ident: int, _task: object) -> None:
    tasks.pop(ident, None)


def _receive(conn: Connection, loop: asyncio.AbstractEventLoop,
             inbox: asyncio.Queue[tuple[Any, ...] | None]) -> None:
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the bot closed the pipe, or died: stop
            message = None
        loop.call_soon_threadsafe(inbox.put_nowait, message)
        if message is None:
            return


def _send_all(conn: Connection, outbox: queue.SimpleQueue[tuple[Any, ...] | None]) -> None:
    """In a thread: replies in order; a large one never holds up the worker's event loop."""
    while (message := outbox.get()) is not None:
        try:
            conn.send(message)
        except (OSError, ValueError):
            return
        except Exception:  # an answer that does not pickle: a plain failure instead
            log.exception("SSH worker: could not send an answer")
            failure = HostUnreachable("(unknown)", None, messages.ssh_worker_stopped())
            with contextlib.suppress(OSError, ValueError):
                conn.send(("error", message[1], _pack(failure), {}))


# --- errors across the pipe --------------------------------------------------------------


def _pack(err: BaseException) -> Packed:
    """An error as its type, args and fields: the errors' own constructors take other
    arguments than `args`, so pickling them whole does not come back."""
    return type(err), err.args, dict(vars(err))


def _unpack(packed: Packed) -> BaseException:
    cls, args, fields = packed
    if not (isinstance(cls, type) and issubclass(cls, AioBotError)):
        return HostUnreachable("(unknown)", None, messages.ssh_worker_stopped())
    err = cls.__new__(cls)
    err.args = args
    err.__dict__.update(fields)
    return err

