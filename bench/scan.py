"""Scan N simulated ESXi hosts over real SSH and print the wall time and bytes per host.

Goals (issue 2): 200 hosts in <= 10 s on 2 cores; <= 64 KB per host whatever lsof's size.
Issue 16: time per host at 1,000 hosts <= 1.1x that at 200; `--replicas 2` (a throwaway
PostgreSQL, the other replicas as worker processes, bot.scanshare) with `--rtt-ms 50` at least
1.6x faster than one replica.

    python bench/scan.py --hosts 200 --vms 20
    python bench/scan.py --hosts 20 --vms 150     # far larger lsof per host
    python bench/scan.py --hosts 200 --rtt-ms 50 --replicas 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fleet_procs import FleetProcesses
from bot.esx.collect import HostFailure, scan_hosts
from bot.esx.ssh import SshSettings, SshTransport
from bot.inventory import HostEntry
from bot.sim.demo_fleet import build_fleet_dirs, synthetic_fleet_states
from bot.sim.shell import run_command
from bot.sim.sshd import SimSshFleet

Fleet = SimSshFleet | FleetProcesses

ROOT = Path(__file__).resolve().parent.parent


class Window:
    """The scan's wall time, the CPU time the whole machine was busy meanwhile (every
    process: bot replicas, simulated hosts and their shells, the delay relay, anything else),
    and the simulated hosts' share of it (when they run in FleetProcesses)."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet if isinstance(fleet, FleetProcesses) else None
        self.wall = self.busy = 0.0
        self.hosts: float | None = None

    def __enter__(self) -> Window:
        self._busy, self._start = machine_busy(), time.perf_counter()
        self._hosts = self.fleet.cpu_seconds() if self.fleet else 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._start
        self.busy = machine_busy() - self._busy
        if self.fleet is not None:
            self.hosts = self.fleet.cpu_seconds() - self._hosts

    def describe(self) -> str:
        cores = os.cpu_count() or 1
        hosts = "" if self.hosts is None else f", the simulated hosts {self.hosts:.2f} s of it"
        return (f"CPU busy meanwhile: {self.busy:.2f} s of {cores} x {self.wall:.2f} s = "
                f"{100 * self.busy / (cores * self.wall):.0f}%{hosts}; the CPU floor on "
                f"{cores} cores is {self.busy / cores:.2f} s")


def machine_busy() -> float:
    """Seconds of CPU time the machine has spent not idle, all cores (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


async def scan(fleet: Fleet, password: str, parallel: int,
               ports: dict[str, int]) -> tuple[Window, list[object]]:
    hosts = [HostEntry(n, a, ports.get(n, p)) for n, a, p in fleet.entries()]
    transport = SshTransport(SshSettings(known_hosts=fleet.known_hosts_path, password=password,
                                         max_parallel=parallel))
    try:
        with Window(fleet) as window:
            outcomes = await scan_hosts(transport, hosts, concurrency=parallel)
        return window, list(outcomes)
    finally:
        await transport.close()


async def shared_scan(fleet: Fleet, password: str, parallel: int, ports: dict[str, int],
                      replicas: int, tmp: Path) -> tuple[Window, list[object]]:
    """One coordinator here and `replicas - 1` worker processes, all on one PostgreSQL."""
    from bot.inventory import Inventory
    from bot.scanshare import SharedScans
    from bot.store import open_store
    from bot.store.sql import SqlStore
    from tests.pg_helpers import PgServer, pg_bin_dir

    bin_dir = pg_bin_dir()
    assert bin_dir is not None, "PostgreSQL is not installed"
    pg = PgServer.start(bin_dir)
    workers: list[subprocess.Popen[bytes]] = []
    hosts = [HostEntry(n, a, ports.get(n, p)) for n, a, p in fleet.entries()]
    try:
        url = pg.fresh_database()
        store = open_store(url)
        assert isinstance(store, SqlStore)
        await store.migrate()
        hosts_file = tmp / "hosts.json"
        hosts_file.write_text(json.dumps([[h.name, h.address, h.port] for h in hosts]))
        for i in range(1, replicas):
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "tests.scanshare_worker", url,
                 str(fleet.known_hosts_path), f"replica-{i + 1}",
                 str(parallel), "90", str(hosts_file)],
                cwd=ROOT, env={**os.environ, "AIO_SSH_PASSWORD": password},
                stdout=subprocess.PIPE))
        for w in workers:
            assert w.stdout is not None and w.stdout.readline().strip() == b"ready"
        transport = SshTransport(SshSettings(known_hosts=fleet.known_hosts_path,
                                             password=password, max_parallel=parallel))
        shared = SharedScans(store, transport, Inventory(hosts),
                             concurrency=parallel, holder="replica-1")
        try:
            with Window(fleet) as window:
                outcomes = await shared.scan(hosts)
            return window, list(outcomes)
        finally:
            await shared.stop()
            await transport.close()
            await store.close()
    finally:
        for w in workers:
            w.kill()
            w.wait(10)
        pg.stop()


def relay(fleet: Fleet, rtt_ms: float) -> tuple[subprocess.Popen[str], dict[str, int]]:
    """A delay relay port per host; the known_hosts file also names the relay ports."""
    entries = fleet.entries()
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "delay_relay.py"),
                             "--target-port", ",".join(str(p) for _, _, p in entries),
                             "--rtt-ms", str(rtt_ms)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ports = [int(p) for p in proc.stdout.readline().split()[-1].split(",")]
    mapping = {name: port for (name, _, _), port in zip(entries, ports, strict=True)}
    lines = fleet.known_hosts_path.read_text().splitlines()
    extra = []
    for line in lines:
        where, rest = line.split(" ", 1)
        old = int(where.rsplit(":", 1)[1])
        for name, _, p in entries:
            if p == old:
                extra.append(f"[127.0.0.1]:{mapping[name]} {rest}")
    fleet.known_hosts_path.write_text("\n".join(lines + extra) + "\n")
    return proc, mapping


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--vms", type=int, default=20, help="VMs per host")
    parser.add_argument("--parallel", type=int, default=32,
                        help="hosts worked on at once (by each replica)")
    parser.add_argument("--rtt-ms", type=float, default=0.0,
                        help="every connection through bench/delay_relay.py")
    parser.add_argument("--replicas", type=int, default=1,
                        help="replicas sharing the scan on a throwaway PostgreSQL")
    parser.add_argument("--fleet-processes", type=int, default=2,
                        help="child processes serving the simulated hosts (0: in this process,"
                             " sharing its GIL with the scan being measured)")
    args = parser.parse_args()
    password = secrets.token_urlsafe(12)
    with tempfile.TemporaryDirectory(prefix="aio-bench-scan-") as tmp:
        t0 = time.perf_counter()
        states = synthetic_fleet_states(args.hosts, args.vms, 7)
        dirs = build_fleet_dirs(Path(tmp) / "hosts", states)
        one = next(iter(dirs.values()))
        lsof_bytes = int(run_command(one, "vmkvsitools lsof | wc -c").stdout)
        fleet_cm: Fleet = (FleetProcesses(dirs, password, Path(tmp), args.fleet_processes)
                           if args.fleet_processes > 0
                           else SimSshFleet(dirs, password=password, workdir=Path(tmp)))
        with fleet_cm as fleet:
            print(f"fleet of {args.hosts} hosts x {args.vms} VMs ready in "
                  f"{time.perf_counter() - t0:.1f} s (lsof of one host: {lsof_bytes:,} bytes)")
            print(f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
            relay_proc, ports = relay(fleet, args.rtt_ms) if args.rtt_ms > 0 else (None, {})
            try:
                if args.replicas > 1:
                    window, outcomes = asyncio.run(shared_scan(
                        fleet, password, args.parallel, ports, args.replicas, Path(tmp)))
                else:
                    window, outcomes = asyncio.run(scan(fleet, password, args.parallel, ports))
            finally:
                if relay_proc is not None:
                    relay_proc.terminate()
                    relay_proc.wait(5)
    wall = window.wall
    failures = [o for o in outcomes if isinstance(o, HostFailure)]
    sizes = [o.bytes_received for o in outcomes if not isinstance(o, HostFailure)]  # type: ignore[attr-defined]
    print(f"scanned {len(outcomes)} hosts in {wall:.2f} s ({len(failures)} failed), "
          f"{1000 * wall / max(1, len(outcomes)):.1f} ms/host, parallel {args.parallel}, "
          f"replicas {args.replicas}, rtt {args.rtt_ms:g} ms, fleet processes "
          f"{args.fleet_processes}; load average after "
          f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print(window.describe())
    if sizes:
        print(f"bytes per host: mean {statistics.mean(sizes):,.0f}, max {max(sizes):,} "
              f"(goal <= 65,536); lsof itself {lsof_bytes:,} bytes per host")
    for f in failures[:5]:
        print(f"failed: {f.host}: {f.error}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
