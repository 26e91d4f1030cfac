"""Time `aio-bot analyze` against KB 408376's awk pipeline on a large `vmkvsitools lsof` file.

    .venv/bin/python bench/parse.py [--lines 1000000] [--keep]

Writes a realistic lsof capture (padded columns, VM names with spaces, vmgfx character
devices, hostd and other worlds) to a temporary directory, then times, best of 3 each:

- `python -m bot analyze --lsof FILE --format json` when `bot/cli.py` exists;
- the parser alone, `python -c "from bot.esx.lsof import parse_lsof_file; ..."`, which counts
  with the C module `bot.esx._lsofcount` when it is built;
- the Python counter alone (`bot.esx.lsof_fast`, used where no C compiler built the module);
- `sh -c "<KB pipeline>"` (the pipeline of KB 408376, with the file instead of
  `vmkvsitools lsof`), run by the system's `awk`;

prints both times and the ratio (ours / KB; at most 1.0 is the goal) and checks that the
per-cartel vmgfx counts agree.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

KB_PIPELINE = (
    "awk '$3==\"CHAR\" {{print $0}}' {f} | grep vmgfx "
    "| awk '$2==\"vmx\" {{print $1}}' | sort | uniq -c | sort -k 1 -n"
)

VM_NAMES = [
    "Gitlab",
    "harbor&nexus",
    "render farm 01",
    "render farm 02",
    "CAD (Ws) 7",
    "ml-train-a100",
    "vdi pool #3",
    "Jenkins agent",
]
DATASTORE = "/vmfs/volumes/6107a9c3-0511c860-9122-fcaa144d4e7d"
OTHER_WORLDS = ["hostd-worker", "vpxa-worker", "sshd", "sfcb-smx", "rhttpproxy", "vmsyslogd"]


def _vm_line(rng: random.Random, cartel: int, vm: str, fd: int, vmgfx_share: float) -> str:
    roll = rng.random()
    if roll < vmgfx_share:
        dev = rng.choice(["vmgfx/vmgfx0", "vmgfx/vmgfx1", "vmgfx/ctl"])
        return _row(cartel, "vmx", "CHAR", fd, f"/vmfs/devices/char/{dev}")
    roll = rng.random()
    if roll < 0.15:
        return _row(cartel, "vmx", "CHAR", fd, "/vmfs/devices/char/vmkdriver/vmci")
    if roll < 0.75:
        world = rng.choice(["vmx", f"vmx-vcpu-{rng.randrange(8)}:{vm}", f"vmx-svga:{vm}"])
        return _row(cartel, world, "FILE", fd, f"{DATASTORE}/{vm}/{vm}-flat.vmdk")
    if roll < 0.9:
        return _row(cartel, f"vmx-mks:{vm}", "SOCKET", fd, "")
    return _row(cartel, "vmx", "PIPE", fd, "")


def _host_line(rng: random.Random, cartel: int, world: str, fd: int) -> str:
    kind = rng.choice(["FILE", "FILE", "CHAR", "SOCKET", "PIPE", "DIR"])
    path = {
        "FILE": "/var/log/hostd.log",
        "CHAR": "/vmfs/devices/char/vmkdriver/ipmi0",
        "DIR": "/var/run",
    }.get(kind, "")
    return _row(cartel, world, kind, fd, path)


def _row(cartel: int, world: str, kind: str, fd: int, path: str) -> str:
    return f"{cartel:<10}{world:<34}{kind:<10}{fd:<8}{path}\n"


def write_lsof(path: Path, lines: int, vmgfx_share: float, seed: int = 408376) -> None:
    """Write a `vmkvsitools lsof` capture of exactly `lines` lines to `path`.

    Like the real tool, it lists cartel after cartel: host daemons, then one VMX cartel per
    VM. `vmgfx_share` of the VM lines are vmgfx handles of the `vmx` world.
    """
    rng = random.Random(seed)
    daemons = [(2097000 + 7 * i, world) for i, world in enumerate(OTHER_WORLDS)]
    vms = [(2099517 + 31 * i, name) for i, name in enumerate(VM_NAMES)]
    body = lines - 2
    host_lines = body // 5
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("Cartel | World name | Type | fd | Description\n")
        out.write("-" * 72 + "\n")
        for i, (cartel, world) in enumerate(daemons):
            share = _share(host_lines, len(daemons), i)
            out.writelines(_host_line(rng, cartel, world, fd) for fd in range(share))
        vm_share = min(1.0, vmgfx_share * body / max(1, body - host_lines))
        for i, (cartel, vm) in enumerate(vms):
            share = _share(body - host_lines, len(vms), i)
            out.writelines(_vm_line(rng, cartel, vm, fd, vm_share) for fd in range(share))


def _share(total: int, parts: int, index: int) -> int:
    return total // parts + (1 if index < total % parts else 0)


def _best_of(cmd: list[str], runs: int) -> tuple[float, str]:
    best, out = float("inf"), ""
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
        best = min(best, time.perf_counter() - start)
        out = done.stdout
    return best, out


def _library_cmd(lsof: Path, parse: str) -> list[str]:
    code = (
        "import json, sys\n"
        f"{parse}\n"
        "s = parse(sys.argv[1])\n"
        "print(json.dumps({str(k): c.vmgfx_handles for k, c in s.cartels.items()"
        " if c.vmgfx_handles}))\n"
    )
    return [sys.executable, "-c", code, str(lsof)]


def _engine() -> str:
    sys.path.insert(0, str(ROOT))
    from bot.esx import lsof_native

    return "C module bot.esx._lsofcount" if lsof_native.AVAILABLE else "Python, C module not built"


def _ours_cmds(lsof: Path) -> list[tuple[list[str], str]]:
    """The CLI when bot/cli.py exists, and always the parser alone."""
    cmds = []
    if (ROOT / "bot" / "cli.py").exists():
        cli = [sys.executable, "-m", "bot", "analyze", "--lsof", str(lsof), "--format", "json"]
        cmds.append((cli, "python -m bot analyze --lsof FILE --format json"))
    else:
        print("bot/cli.py does not exist yet: timing the parser alone")
    parse_file = "from bot.esx.lsof import parse_lsof_file as parse"
    cmds.append((_library_cmd(lsof, parse_file), f"parser alone: {_engine()}"))
    python_only = (
        "from bot.esx.lsof_fast import count_file\n"
        "def parse(path): return count_file(path).summary()"
    )
    cmds.append((_library_cmd(lsof, python_only), "Python counter alone, the fallback"))
    return cmds


def _kb_counts(out: str) -> Counter[int]:
    counts: Counter[int] = Counter()
    for line in out.splitlines():
        n, cartel = line.split()
        counts[int(cartel)] = int(n)
    return counts


def _our_counts(lsof: Path) -> Counter[int]:
    sys.path.insert(0, str(ROOT))
    from bot.esx.lsof import parse_lsof_file

    summary = parse_lsof_file(lsof)
    return Counter({k: c.vmgfx_handles for k, c in summary.cartels.items() if c.vmgfx_handles})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--vmgfx-share",
        type=float,
        default=0.1,
        help="share of all lines that are vmgfx handles of a vmx world (default 0.1)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="aio-bench-"))
    lsof = tmp / "lsof.txt"
    write_lsof(lsof, args.lines, args.vmgfx_share)
    size = lsof.stat().st_size
    print(
        f"file: {lsof} ({args.lines} lines, {size / 1e6:.1f} MB, "
        f"vmgfx share {args.vmgfx_share:.2f})"
    )
    kb_cmd = ["sh", "-c", KB_PIPELINE.format(f=lsof)]
    t_kb, kb_out = _best_of(kb_cmd, args.runs)
    print(f"KB pipeline (sh + awk|grep|awk|sort|uniq): {t_kb:.3f} s")
    for cmd, label in _ours_cmds(lsof):
        t_ours, ours_out = _best_of(cmd, args.runs)
        print(f"ours ({label}): {t_ours:.3f} s, ratio ours/KB {t_ours / t_kb:.2f}")
        if not ours_out.strip():
            print("  warning: it printed nothing")
    kb, ours = _kb_counts(kb_out), _our_counts(lsof)
    agree = kb == ours
    print(
        f"per-cartel vmgfx counts agree: {agree} ({sum(kb.values())} vmgfx handles, "
        f"{len(kb)} cartels)"
    )
    if not args.keep:
        lsof.unlink()
        tmp.rmdir()
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
