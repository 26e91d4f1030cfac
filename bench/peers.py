"""aio-bot's scan against its peers, side by side on one fleet: one real OpenSSH sshd on
127.0.0.1 whose login shell and awk are busybox (as on ESXi), stand-in vmkvsitools, esxcli and
vmware printing real formats (bot/sim's renderers), N inventory names on it.

Contenders, run alternately, each in its own process, best of --runs:
- aio-bot: `scan_hosts` over `SshTransport` as `aio-bot run scan all` runs it (one exec per
  host: version, kernel setting, VM list, lsof reduction, vmkernel.log and hostd.log);
- parallel-ssh (libssh2, `ParallelSSHClient`, pool --parallel): the KB pipeline, then
  `esxcli vm process list`, on each host's one connection;
- OpenSSH `ssh` under `xargs -P --parallel`: one connection per host running the KB
  pipeline and the VM list.

    python bench/peers.py --hosts 200 [--rtt-ms 50] [--runs 3] [--vms 100]

`--rtt-ms` puts every connection through bench/delay_relay.py (half the RTT each way).
As root, the sshd account is a dedicated user `aio-peer` whose login shell is busybox sh;
otherwise the current user with a ForceCommand running busybox sh. Goals (issue 16): aio-bot
<= 1.0x the fastest peer on loopback, <= 0.7x at --rtt-ms 50."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.esx import commandlines as cl  # noqa: E402

PEER_USER = "aio-peer"


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- the contenders (each runs in its own process) ---------------------------------------


def run_aio(a: argparse.Namespace) -> dict[str, Any]:
    from bot.esx.collect import HostFailure, scan_concurrency, scan_hosts
    from bot.esx.ssh import SshSettings, SshTransport
    from bot.inventory import HostEntry

    hosts = [HostEntry(f"esx-peer-{i:04d}", "127.0.0.1", a.port, username=a.user)
             for i in range(1, a.hosts + 1)]

    async def scan() -> tuple[float, int, int, str]:
        transport = SshTransport(SshSettings(Path(a.known_hosts), key_file=Path(a.key),
                                             max_parallel=a.parallel))
        start = time.perf_counter()
        try:
            outcomes = await scan_hosts(transport, hosts,
                                        concurrency=scan_concurrency(a.parallel))
        finally:
            await transport.close()
        failed = [o for o in outcomes if isinstance(o, HostFailure)]
        sizes = [o.bytes_received for o in outcomes if not isinstance(o, HostFailure)]
        return (time.perf_counter() - start, len(outcomes) - len(failed), max(sizes or [0]),
                failed[0].error if failed else "")

    seconds, ok, biggest, error = asyncio.run(scan())
    return {"seconds": seconds, "ok": ok, "bytes_max": biggest, "error": error}


def run_pssh(a: argparse.Namespace) -> dict[str, Any]:
    from pssh.clients import ParallelSSHClient

    client = ParallelSSHClient(["127.0.0.1"] * a.hosts, user=a.user, pkey=a.key, port=a.port,
                               pool_size=a.parallel, num_retries=1, timeout=120)
    start = time.perf_counter()
    ok = 0
    lines = 0
    for command in (cl.KB_PIPELINE, cl.VM_LIST):
        output = client.run_command(command)
        for host_out in output:
            lines += sum(1 for _ in host_out.stdout)
        client.join(output)
        ok += sum(1 for h in output if h.exit_code == 0 and h.exception is None)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "ok": ok // 2, "lines": lines, "error": ""}


def run_openssh(a: argparse.Namespace) -> dict[str, Any]:
    ssh = (f"ssh -F /dev/null -T -i {a.key} -p {a.port} -o BatchMode=yes "
           f"-o UserKnownHostsFile={a.known_hosts} -o StrictHostKeyChecking=yes "
           f"-o ConnectTimeout=60 {a.user}@127.0.0.1")
    remote = f"{cl.KB_PIPELINE}; {cl.VM_LIST}"
    script = f'{ssh} "$0" > /dev/null'
    names = "".join(f"esx-peer-{i:04d}\n" for i in range(1, a.hosts + 1))
    start = time.perf_counter()
    proc = subprocess.run(["xargs", "-P", str(a.parallel), "-n", "1", "sh", "-c",
                           script.replace('"$0"', _sh_quote(remote)) + " # $0"],
                          input=names.encode(), capture_output=True, timeout=1800)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "ok": a.hosts if proc.returncode == 0 else 0,
            "error": proc.stderr.decode(errors="replace")[:300]}


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


CONTENDERS = {"aio-bot": run_aio, "parallel-ssh": run_pssh, "openssh-xargs": run_openssh}


# --- the driver ---------------------------------------------------------------------------


def contender(name: str, port: int, sshd: Any, a: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--contender", name, "--port", str(port),
           "--hosts", str(a.hosts), "--parallel", str(a.parallel), "--user", sshd.user,
           "--key", str(sshd.key_file), "--known-hosts", str(sshd.known_hosts)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        return {"seconds": float("inf"), "ok": 0, "error": proc.stderr[-500:]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def start_relay(target: int, rtt_ms: float) -> tuple[subprocess.Popen[str], int]:
    relay = subprocess.Popen([sys.executable, str(Path(__file__).parent / "delay_relay.py"),
                              "--target-port", str(target), "--rtt-ms", str(rtt_ms)],
                             stdout=subprocess.PIPE, text=True)
    assert relay.stdout is not None
    line = relay.stdout.readline().split()
    return relay, int(line[-1])


def drive(a: argparse.Namespace) -> int:
    from bot.sim.demo_fleet import build_fleet_dirs, synthetic_fleet_states
    from bot.sim.shell import run_command
    from tests.openssh_busybox import available, busybox_sshd

    missing = available()
    if missing:
        print(f"cannot run: {missing}")
        return 2
    with tempfile.TemporaryDirectory(prefix="aio-bench-peers-") as tmp:
        dirs = build_fleet_dirs(Path(tmp) / "hosts", synthetic_fleet_states(1, a.vms, 7))
        host_dir = next(iter(dirs.values()))
        lines = run_command(host_dir, "vmkvsitools lsof | wc -l").stdout.strip()
        work = Path(tmp) / "sshd"
        work.mkdir()
        user = PEER_USER if os.geteuid() == 0 else None
        with busybox_sshd(work, host_dir, user=user) as sshd:
            port, relay = sshd.port, None
            if a.rtt_ms > 0:
                relay, port = start_relay(sshd.port, a.rtt_ms)
                sshd.trust(port)
            try:
                print(f"fleet: {a.hosts} inventory names on one OpenSSH sshd (user "
                      f"{sshd.user}, busybox sh and awk, /var/log bound: {sshd.logs_bound}); "
                      f"lsof {lines} lines per host; rtt {a.rtt_ms:g} ms; parallel "
                      f"{a.parallel}; {a.runs} runs, alternating")
                return compare(a, port, sshd)
            finally:
                if relay is not None:
                    relay.terminate()
                    relay.wait(5)


def compare(a: argparse.Namespace, port: int, sshd: Any) -> int:
    names = list(CONTENDERS)
    times: dict[str, list[float]] = {n: [] for n in names}
    for run in range(a.runs):
        order = names[run % len(names):] + names[:run % len(names)]
        for name in order:
            before = loadavg()
            r = contender(name, port, sshd, a)
            ok = r["ok"] == a.hosts
            times[name].append(r["seconds"] if ok else float("inf"))
            extra = f", max {r['bytes_max']:,} B/host" if "bytes_max" in r else ""
            print(f"  run {run + 1} {name:14s} {r['seconds']:7.2f} s  ok {r['ok']}/{a.hosts}"
                  f"{extra}  load {before} -> {loadavg()}"
                  + ("" if ok else f"  FAILED: {r.get('error', '')[:200]}"), flush=True)
    best = {n: min(t) for n, t in times.items()}
    for n in names:
        print(f"best {n:14s} {best[n]:7.2f} s  ({1000 * best[n] / a.hosts:.1f} ms/host)")
    peer = min((n for n in names if n != "aio-bot"), key=lambda n: best[n])
    ratio = best["aio-bot"] / best[peer]
    goal = 1.0 if a.rtt_ms == 0 else 0.7
    print(f"aio-bot / fastest peer ({peer}): {ratio:.2f}x  (goal <= {goal}: "
          f"{'met' if ratio <= goal else 'NOT met'}); load now {loadavg()}")
    return 0 if ratio <= goal else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hosts", type=int, default=200)
    p.add_argument("--vms", type=int, default=100, help="VMs on the host (100: ~20,000 "
                   "lsof lines)")
    p.add_argument("--parallel", type=int, default=32)
    p.add_argument("--rtt-ms", type=float, default=0.0)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--contender", choices=list(CONTENDERS), help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--user", help=argparse.SUPPRESS)
    p.add_argument("--key", help=argparse.SUPPRESS)
    p.add_argument("--known-hosts", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.contender:
        print(json.dumps(CONTENDERS[a.contender](a)))
        return 0
    return drive(a)


if __name__ == "__main__":
    sys.exit(main())
