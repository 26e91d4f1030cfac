"""Fleet scans shared by replicas on a real PostgreSQL: every host's work item is taken once,
the outcomes come back in one list in the hosts' order, and a replica killed mid-scan leaves
its items to the others."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.esx.collect import HostFailure
from bot.esx.compound import is_full_read
from bot.esx.report import HostReport
from bot.esx.ssh import SshSettings, SshTransport
from bot.inventory import HostEntry, Inventory
from bot.scanshare import SharedScans
from bot.sim.demo_fleet import build_fleet_dirs, synthetic_fleet_states
from bot.sim.files import write_atomic
from bot.sim.sshd import SimSshFleet
from bot.store import open_store
from bot.store.sql import SqlStore
from tests.pg_helpers import PgServer

PASSWORD = secrets.token_urlsafe(12)
ROOT = Path(__file__).resolve().parent.parent


def slow_hosts(dirs: dict[str, Path], seconds: float) -> None:
    """Every host takes `seconds` longer to answer its version."""
    for host_dir in dirs.values():
        real = host_dir / "bin" / "esxcli.real"
        if not real.exists():
            real.write_text((host_dir / "bin" / "esxcli").read_text())
            real.chmod(0o755)
        write_atomic(host_dir / "bin" / "esxcli",
                     f'#!/bin/sh\n[ "$*" = "system version get" ] && sleep {seconds}\n'
                     f'exec {real} "$@"\n', 0o755)


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[tuple[SimSshFleet, dict[str, Path]]]:
    dirs = build_fleet_dirs(tmp_path / "hosts", synthetic_fleet_states(12, 6, 5))
    slow_hosts(dirs, 0.5)
    with SimSshFleet(dirs, password=PASSWORD, workdir=tmp_path) as f:
        yield f, dirs


async def replica(url: str, fleet: SimSshFleet, holder: str, *, concurrency: int,
                  lease: float = 90.0) -> SharedScans:
    store = open_store(url)
    assert isinstance(store, SqlStore)
    await store.migrate()
    entries = [HostEntry(n, a, p) for n, a, p in fleet.entries()]
    transport = SshTransport(SshSettings(fleet.known_hosts_path, password=PASSWORD,
                                         command_timeout=30))
    return SharedScans(store, transport, Inventory(entries), concurrency=concurrency,
                       holder=holder, lease=lease, poll=0.2)


async def close(shared: SharedScans) -> None:
    await shared.stop()
    await shared.transport.close()
    assert isinstance(shared.store, SqlStore)
    await shared.store.close()


def reads_per_host(fleet: SimSshFleet) -> dict[str, int]:
    return {name: sum(1 for line in s.received if is_full_read(line))
            for name, s in fleet.servers.items()}


async def test_two_replicas_read_each_host_once(
        pg_server: PgServer, fleet: tuple[SimSshFleet, dict[str, Path]]) -> None:
    sim, _ = fleet
    url = pg_server.fresh_database()
    a = await replica(url, sim, "replica-a", concurrency=3)
    b = await replica(url, sim, "replica-b", concurrency=3)
    try:
        b.start()
        hosts = [HostEntry(n, addr, p) for n, addr, p in sim.entries()]
        seen: list[tuple[int, int]] = []

        async def progress(done: int, total: int, _: object) -> None:
            seen.append((done, total))

        outcomes = await asyncio.wait_for(a.scan(hosts, progress=progress), 60)
        assert [o.host for o in outcomes] == [h.name for h in hosts]
        assert all(isinstance(o, HostReport) and o.vms for o in outcomes), outcomes
        assert reads_per_host(sim) == {h.name: 1 for h in hosts}
        assert seen[-1] == (12, 12) and len(seen) == 12
    finally:
        await close(a)
        await close(b)


async def test_a_replica_killed_mid_scan_leaves_its_items(
        pg_server: PgServer, fleet: tuple[SimSshFleet, dict[str, Path]],
        tmp_path: Path) -> None:
    sim, dirs = fleet
    slow_hosts(dirs, 3.0)  # B is still reading when it is killed
    url = pg_server.fresh_database()
    a = await replica(url, sim, "replica-a", concurrency=2, lease=2.0)
    hosts_file = tmp_path / "hosts.json"
    hosts_file.write_text(json.dumps(sim.entries()))
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.scanshare_worker", url, str(sim.known_hosts_path),
         "replica-b", "4", "2.0", str(hosts_file)],
        cwd=ROOT, env={**os.environ, "AIO_SSH_PASSWORD": PASSWORD}, stdout=subprocess.PIPE)
    try:
        assert worker.stdout is not None and worker.stdout.readline().strip() == b"ready"
        hosts = [HostEntry(n, addr, p) for n, addr, p in sim.entries()]
        scan = asyncio.create_task(a.scan(hosts))
        held: list[str] = []
        for _ in range(100):
            held = await held_by(a, "replica-b")
            if held:
                break
            await asyncio.sleep(0.1)
        assert held, "replica B never took an item"
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        outcomes = await asyncio.wait_for(scan, 90)
        assert [o.host for o in outcomes] == [h.name for h in hosts]
        assert all(isinstance(o, HostReport) for o in outcomes), [
            o for o in outcomes if isinstance(o, HostFailure)]
        reads = reads_per_host(sim)
        assert all(reads[h.name] == 1 for h in hosts if h.name not in held), reads
        assert all(1 <= reads[name] <= 2 for name in held), reads
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
        if worker.stdout is not None:
            worker.stdout.close()
        await close(a)


async def held_by(shared: SharedScans, holder: str) -> list[str]:
    return await shared.store.held_items(holder)
