"""A benchmark's simulated hosts in child processes of their own: their SSH servers (paramiko,
in Python) then do not share the GIL with the bot that is being measured, as real ESXi hosts
would not. The hosts are dealt round-robin over the processes; the bot reaches them over SSH on
127.0.0.1 exactly as when they run in its process.

    with FleetProcesses(dirs, password, workdir, processes=2) as fleet:
        fleet.entries(), fleet.known_hosts_path
"""

from __future__ import annotations

import contextlib
import multiprocessing
import resource
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import TracebackType

from bot.sim.sshd import SimSshFleet


class FleetProcesses:
    """`processes` children, each serving its share of `dirs` with one SimSshFleet."""

    def __init__(self, dirs: dict[str, Path], password: str, workdir: Path,
                 processes: int = 2) -> None:
        self.known_hosts_path = workdir / "known_hosts"
        self._order = list(dirs)
        self._groups = [dict(list(dirs.items())[i::processes]) for i in range(processes)]
        self._password = password
        self._workdir = workdir
        self._entries: dict[str, tuple[str, str, int]] = {}
        self._children: list[tuple[Connection, BaseProcess]] = []

    def __enter__(self) -> FleetProcesses:
        context = multiprocessing.get_context("spawn")
        for i, group in enumerate(g for g in self._groups if g):
            mine, theirs = context.Pipe()
            proc = context.Process(target=_serve, daemon=True, args=(
                theirs, group, self._password, self._workdir / f"fleet-{i}"))
            proc.start()
            theirs.close()
            self._children.append((mine, proc))
        lines: list[str] = []
        for conn, _ in self._children:
            entries, known_hosts = conn.recv()
            self._entries.update({name: (name, a, p) for name, a, p in entries})
            lines.append(known_hosts)
        self.known_hosts_path.write_text("".join(lines))
        return self

    def entries(self) -> list[tuple[str, str, int]]:
        """(name, address, port) of every host, in the order of `dirs`."""
        return [self._entries[name] for name in self._order]

    def cpu_seconds(self) -> float:
        """CPU time the simulated hosts used so far: their servers and the commands they ran
        (user + system, all processes)."""
        total = 0.0
        for conn, _ in self._children:
            conn.send("cpu")
        for conn, _ in self._children:
            total += float(conn.recv())
        return total

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for conn, _ in self._children:
            conn.close()  # the child sees EOF and stops its fleet
        for _, proc in self._children:
            proc.join(15)
            if proc.is_alive():
                proc.kill()


def _serve(conn: Connection, dirs: dict[str, Path], password: str, workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    with SimSshFleet(dirs, password=password, workdir=workdir) as fleet:
        conn.send((fleet.entries(), fleet.known_hosts_path.read_text()))
        with contextlib.suppress(EOFError, OSError):
            while conn.recv() == "cpu":
                conn.send(_cpu())


def _cpu() -> float:
    """This process's CPU time and that of its ended children (the commands' shells)."""
    own, ended = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                   resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + ended.ru_utime + ended.ru_stime
