"""`aio-bot analyze`: a `top` report from output captured by hand or from a support bundle.

Apart from `bot.cli_actions` so that it imports only the parsers, the assessment and the host
results' renderers: no asyncio, SSH, Slack, store or configuration, and it starts fast
(`tests/test_cli_imports.py` keeps it so)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.analyze import CapturedFiles
from bot.analyze import analyze as analyze_files
from bot.assess import Thresholds, assess
from bot.console.output import print_result
from commands.host_results import TopResult


def analyze(args: argparse.Namespace) -> int:
    files = CapturedFiles(
        lsof=args.lsof, vm_list=args.vm_list, kernel=args.kernel, version=args.version,
        vmkernel_log=args.vmkernel_log, hostd_log=args.hostd_log)
    report = analyze_files(files, host=args.host)
    limit = args.limit if args.limit and args.limit > 0 else max(1, len(report.vms))
    return print_result(TopResult(report, assess(report, Thresholds()), limit), args.format)


def add_analyze_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                       common: argparse.ArgumentParser) -> None:
    analyze = sub.add_parser("analyze", parents=[common],
                             help="analyze output captured by hand or from a support bundle")
    analyze.add_argument("--lsof", type=Path, required=True, help="`vmkvsitools lsof` output")
    analyze.add_argument("--vm-list", type=Path, help="`esxcli vm process list` (text or xml)")
    analyze.add_argument("--kernel", type=Path,
                         help="`esxcli system settings kernel list -o FDSNumAIOHandles`")
    analyze.add_argument("--version", type=Path,
                         help="`esxcli system version get` (text or json) or `vmware -vl`")
    analyze.add_argument("--vmkernel-log", type=Path, help="vmkernel.log")
    analyze.add_argument("--hostd-log", type=Path, help="hostd.log")
    analyze.add_argument("--host", default="captured", help="name to show for the host")
    analyze.add_argument("--limit", type=int, default=None, help="rows to show (default all)")

