"""`aio-bot analyze`: a `top` report from output captured by hand or from a support bundle.

Apart from `bot.cli_actions` so that it imports only the parsers, the assessment and the host
results' renderers: no asyncio, SSH, Slack, store or configuration, and it starts fast
(`tests/test_cli_imports.py` keeps it so)."""

from __future__ import annotations

import argparse
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from bot.analyze import CapturedFiles
from bot.analyze import analyze as analyze_files
from bot.assess import Thresholds, assess
from bot.console.output import print_result
from bot.errors import UsageError
from commands.host_results import TopResult

if TYPE_CHECKING:  # tarfile and the log readers are imported only when they are needed
    from bot.esx.bundle import BundleFiles


def analyze(args: argparse.Namespace) -> int:
    if args.lsof is None and args.bundle is None:
        raise UsageError("Give --lsof FILE (vmkvsitools lsof output) or --bundle FILE.tgz|DIR.")
    since = None
    if args.since:
        from bot.esx.window import parse_since

        since = parse_since(args.since)
    with ExitStack() as stack:
        bundle = None
        if args.bundle:
            from bot.esx.bundle import open_bundle

            bundle = stack.enter_context(open_bundle(args.bundle))
        files = _files(args, bundle)
        report = analyze_files(files, host=args.host, since=since)
    limit = args.limit if args.limit and args.limit > 0 else max(1, len(report.vms))
    return print_result(TopResult(report, assess(report, Thresholds()), limit), args.format)


def _files(args: argparse.Namespace, bundle: BundleFiles | None) -> CapturedFiles:
    """The files named on the command line; a support bundle fills in the rest."""
    given = CapturedFiles(
        lsof=args.lsof, vm_list=args.vm_list, kernel=args.kernel, version=args.version,
        vmkernel_logs=tuple(args.vmkernel_log or ()), hostd_logs=tuple(args.hostd_log or ()),
        vobd_logs=tuple(args.vobd_log or ()))
    if bundle is None:
        return given
    found = bundle.found
    paths = [p for ps in found.values() for p in ps]
    return CapturedFiles(
        lsof=given.lsof or bundle.one("lsof"),
        vm_list=given.vm_list or bundle.one("vm_list"),
        kernel=given.kernel or bundle.one("kernel"),
        version=given.version or bundle.one("version"),
        vmkernel_logs=given.vmkernel_logs or tuple(found.get("vmkernel_logs", ())),
        hostd_logs=given.hostd_logs or tuple(found.get("hostd_logs", ())),
        vobd_logs=given.vobd_logs or tuple(found.get("vobd_logs", ())),
        kernel_is_delta=given.kernel is None and bundle.kernel_is_delta,
        names={p: bundle.shown(p) for p in paths},
        captures=bundle.notes(),
    )


def add_analyze_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                       common: argparse.ArgumentParser) -> None:
    analyze = sub.add_parser(
        "analyze", parents=[common],
        help="analyze output captured by hand or from a support bundle",
        description="Read captures as pasted (prompt lines, CRLF, BOM, Unicode spaces, cut "
                    "lines); lines not used are listed as input warnings. Log files may be "
                    "gzipped and given more than once.")
    analyze.add_argument("--lsof", type=Path, help="`vmkvsitools lsof` output")
    analyze.add_argument("--bundle", type=Path,
                         help="an ESXi support bundle (vm-support .tgz, or unpacked directory)")
    analyze.add_argument("--vm-list", type=Path,
                         help="`esxcli vm process list` (text, xml, csv or json)")
    analyze.add_argument("--kernel", type=Path,
                         help="`esxcli system settings kernel list -o FDSNumAIOHandles`")
    analyze.add_argument("--version", type=Path,
                         help="`esxcli system version get` (text or json) or `vmware -vl`")
    analyze.add_argument("--vmkernel-log", type=Path, action="append",
                         help="vmkernel.log (or a rotation, gzipped or not); repeatable")
    analyze.add_argument("--hostd-log", type=Path, action="append",
                         help="hostd.log (or a rotation); repeatable")
    analyze.add_argument("--vobd-log", type=Path, action="append",
                         help="vobd.log (or a rotation); repeatable")
    analyze.add_argument("--since", help="count log events from this time: 24h, 90m, 7d "
                         "(back from the capture's last line) or an ISO time")
    analyze.add_argument("--host", default="captured", help="name to show for the host")
    analyze.add_argument("--limit", type=int, default=None, help="rows to show (default all)")
