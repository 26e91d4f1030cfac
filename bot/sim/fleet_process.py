"""The demo fleet in a child process (`aio-bot serve --demo`), optionally grown with
synthetic hosts (`--demo-hosts N`) for load tests, or shared between bot processes through a
manifest file (`AIO_DEMO_FLEET`). It hands the bot a `FleetSource`; the bot's services are
built on it by `bot.services.open_services`, as for any fleet."""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import os
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from bot.demo import DemoFleet
from bot.esx.ssh import SshSettings
from bot.esx.ssh_workers import WORKER_NICENESS
from bot.inventory import HostEntry, Inventory
from bot.services import FleetSource
from bot.sim.vcenter import SimVCenter


class FleetProcess:
    """The demo hosts in a child process: their simulated SSH servers then do not compete with
    the bot's event loop for the GIL, as real ESXi hosts would not. The bot reaches them over
    SSH on 127.0.0.1 exactly as in-process."""

    def __init__(self, extra_hosts: int = 0, max_parallel: int = 32,
                 manifest: Path | None = None) -> None:
        self.extra_hosts = extra_hosts
        self.max_parallel = max_parallel
        self.manifest = manifest
        self.source: FleetSource | None = None
        self._conn: Connection | None = None
        self._proc: BaseProcess | None = None

    async def __aenter__(self) -> FleetProcess:
        if self.manifest is not None:
            ready = read_manifest(self.manifest)
        else:
            context = multiprocessing.get_context("spawn")
            self._conn, child = context.Pipe()
            self._proc = context.Process(target=_child, args=(child, self.extra_hosts),
                                         daemon=True)
            self._proc.start()
            child.close()
            ready = await asyncio.to_thread(self._conn.recv)
        inventory = Inventory(HostEntry(n, a, p, cluster=c) for n, a, p, c in ready.hosts)
        ssh = SshSettings(known_hosts=Path(ready.known_hosts), password=ready.password,
                          max_parallel=self.max_parallel)
        vcenter = SimVCenter({k: Path(v) for k, v in ready.host_dirs.items()},
                             {n: c for n, _, _, c in ready.hosts})
        await vcenter.inventory()  # read every host once now, as vCenter knows them already
        self.source = FleetSource(inventory, ssh, vcenter)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._conn is not None:
            self._conn.close()  # the child sees EOF and stops its fleet
        if self._proc is not None:
            await asyncio.to_thread(self._proc.join, 10)

    def child_pid(self) -> int | None:
        """The fleet's process (None when it came from a manifest)."""
        return self._proc.pid if self._proc is not None else None


@dataclass(frozen=True)
class _Ready:
    """How to reach a running demo fleet."""

    hosts: list[tuple[str, str, int, str]]
    known_hosts: str
    host_dirs: dict[str, str]
    password: str = field(repr=False)


def ready_of(fleet: DemoFleet) -> _Ready:
    hosts = [(h.name, h.address, h.port, h.cluster) for h in fleet.inventory]
    return _Ready(hosts, str(fleet.fleet.known_hosts_path),
                  {k: str(v) for k, v in fleet.host_dirs.items()}, fleet.password)


def write_manifest(fleet: DemoFleet, path: Path) -> None:
    """Let other bot processes (`AIO_DEMO_FLEET=path`) share this running demo fleet. The file
    holds the demo's throwaway SSH password: it is written readable by its owner only."""
    ready = ready_of(fleet)
    path.touch(mode=0o600)
    path.write_text(json.dumps({"hosts": ready.hosts, "known_hosts": ready.known_hosts,
                                "host_dirs": ready.host_dirs, "password": ready.password}))


def read_manifest(path: Path) -> _Ready:
    data = json.loads(path.read_text())
    return _Ready([tuple(h) for h in data["hosts"]], data["known_hosts"],
                  data["host_dirs"], data["password"])


# Real hosts compute on their own CPUs. The simulated ones share the bot's, and with their
# shells and awk they were the largest user of it in bench/load.py's scan: they run at the
# SSH workers' niceness, so when CPU is short the bot's acks go first (and the commands' shells
# inherit it). bench/load.py, three runs each on a quiet 2-core machine, the bot on uvloop with
# this session's other changes: ack p99 80/87/106 ms with it, 121/123/133 without (scan 37-44 s
# either way).
FLEET_NICENESS = WORKER_NICENESS


def _child(conn: Connection, extra_hosts: int) -> None:
    os.nice(FLEET_NICENESS)
    fleet = DemoFleet(extra_hosts=extra_hosts)
    fleet.start()
    try:
        conn.send(ready_of(fleet))
        with contextlib.suppress(EOFError, OSError):
            conn.recv()
    finally:
        fleet.stop()
