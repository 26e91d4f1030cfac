"""The long soak: 1,000 commands on the demo fleet with random faults (hosts down, hanging,
answering garbage or cut short, SSH restarts, vMotion failing, vCenter slow, Slack failing or
hanging during a run, a run paused past its lease and taken over), approvals pressed twice at
once; prints what was injected, how commands ended, and the leak counts.

    .venv/bin/python bench/soak.py [--commands 1000] [--seed 1] [--fault-rate 0.4]

Exit status 0 when nothing was lost, crashed, ran twice or leaked. The suite runs 200 of the
same (tests/test_faults_soak.py)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fault_helpers import run_soak  # noqa: E402


async def main(args: argparse.Namespace) -> int:
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)  # refused connections, by design
    started = time.perf_counter()
    report = await run_soak(args.commands, seed=args.seed, fault_rate=args.fault_rate)
    seconds = time.perf_counter() - started
    leaked = report.leaked()
    injected = sum(v for k, v in report.faults.items() if k != "none")
    print(f"commands: {report.commands} in {seconds:.1f} s; faults injected: {injected} "
          f"{dict(sorted(report.faults.items()))}")
    print(f"outcomes: {dict(sorted(report.outcomes.items()))}")
    print(f"lost: {report.lost}  crashes: {len(report.crashes)}  "
          f"multi-line failures: {len(report.long_messages)}  "
          f"double executions: {report.double_executions}")
    print(f"runs paused past their lease and taken over: {report.takeovers}; commands or "
          f"audit rows from them after the takeover: {report.after_takeover}")
    if report.after_takeover:
        for pause in report.pauses:
            print("  paused run:", pause)
    print(f"command lines received by hosts: {report.lines_received}, all fixed ones")
    print(f"peak SSH connections: {report.peak_connections}")
    print(f"before: {report.before.describe() if report.before else '?'}; "
          f"after: {report.after.describe() if report.after else '?'}")
    print(f"leaked: {leaked}")
    for crash in report.crashes[:10]:
        print("  crash:", crash)
    bad = (report.lost or report.crashes or report.long_messages or report.double_executions
           or report.after_takeover)
    return 1 if bad or any(leaked.values()) else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fault-rate", type=float, default=0.4)
    sys.exit(asyncio.run(main(parser.parse_args())))
