"""Scan N simulated ESXi hosts over real SSH and print the wall time and bytes per host.

Goals (issue 2): 200 hosts in <= 10 s on 2 cores; <= 64 KB per host whatever lsof's size.

    python bench/scan.py --hosts 200 --vms 20
    python bench/scan.py --hosts 20 --vms 150     # far larger lsof per host
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.esx.collect import HostFailure, scan_hosts
from bot.esx.ssh import SshSettings, SshTransport
from bot.inventory import HostEntry
from bot.sim.demo_fleet import build_fleet_dirs, synthetic_fleet_states
from bot.sim.shell import run_command
from bot.sim.sshd import SimSshFleet


async def scan(fleet: SimSshFleet, password: str, parallel: int) -> tuple[float, list[object]]:
    hosts = [HostEntry(n, a, p) for n, a, p in fleet.entries()]
    transport = SshTransport(SshSettings(known_hosts=fleet.known_hosts_path, password=password,
                                         max_parallel=parallel))
    try:
        start = time.perf_counter()
        outcomes = await scan_hosts(transport, hosts, concurrency=parallel)
        return time.perf_counter() - start, list(outcomes)
    finally:
        await transport.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--vms", type=int, default=20, help="VMs per host")
    parser.add_argument("--parallel", type=int, default=32, help="hosts worked on at once")
    args = parser.parse_args()
    password = secrets.token_urlsafe(12)
    with tempfile.TemporaryDirectory(prefix="aio-bench-scan-") as tmp:
        t0 = time.perf_counter()
        states = synthetic_fleet_states(args.hosts, args.vms, 7)
        dirs = build_fleet_dirs(Path(tmp) / "hosts", states)
        one = next(iter(dirs.values()))
        lsof_bytes = int(run_command(one, "vmkvsitools lsof | wc -c").stdout)
        with SimSshFleet(dirs, password=password, workdir=Path(tmp)) as fleet:
            print(f"fleet of {args.hosts} hosts x {args.vms} VMs ready in "
                  f"{time.perf_counter() - t0:.1f} s (lsof of one host: {lsof_bytes:,} bytes)")
            wall, outcomes = asyncio.run(scan(fleet, password, args.parallel))
    failures = [o for o in outcomes if isinstance(o, HostFailure)]
    sizes = [o.bytes_received for o in outcomes if not isinstance(o, HostFailure)]  # type: ignore[attr-defined]
    print(f"scanned {len(outcomes)} hosts in {wall:.2f} s ({len(failures)} failed), "
          f"parallel {args.parallel}")
    if sizes:
        print(f"bytes per host: mean {statistics.mean(sizes):,.0f}, max {max(sizes):,} "
              f"(goal <= 65,536); lsof itself {lsof_bytes:,} bytes per host")
    for f in failures[:5]:
        print(f"failed: {f.host}: {f.error}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
