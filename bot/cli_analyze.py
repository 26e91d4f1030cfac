"""`aio-bot analyze`: a `top` report from output captured by hand or from a support bundle.

Apart from `bot.cli_actions` so that it imports only the parsers, the assessment and the host
results' renderers: no asyncio, SSH, Slack, store or configuration, and it starts fast
(`tests/test_cli_imports.py` keeps it so)."""

from __future__ import annotations

import argparse

from bot.analyze import CapturedFiles
from bot.analyze import analyze as analyze_files
from bot.assess import Thresholds, assess
from bot.cli import print_result
from commands.host_results import TopResult


def analyze(args: argparse.Namespace) -> int:
    files = CapturedFiles(
        lsof=args.lsof, vm_list=args.vm_list, kernel=args.kernel, version=args.version,
        vmkernel_log=args.vmkernel_log, hostd_log=args.hostd_log)
    report = analyze_files(files, host=args.host)
    limit = args.limit if args.limit and args.limit > 0 else max(1, len(report.vms))
    return print_result(TopResult(report, assess(report, Thresholds()), limit), args.format)
