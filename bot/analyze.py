"""`aio-bot analyze`: the same report from output captured by hand or from a support bundle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.errors import UsageError
from bot.esx.kernel import find_aio_setting
from bot.esx.logs import parse_fds_warnings, parse_hostd_dumps, parse_hostd_starts
from bot.esx.logsummary import summarize_fds
from bot.esx.lsof import parse_lsof_file
from bot.esx.records import HostdEvent
from bot.esx.report import HostReport, build_report
from bot.esx.version import parse_version
from bot.esx.vmlist import parse_vm_list


@dataclass(frozen=True)
class CapturedFiles:
    lsof: Path
    vm_list: Path | None = None
    kernel: Path | None = None
    version: Path | None = None
    vmkernel_log: Path | None = None
    hostd_log: Path | None = None


def analyze(files: CapturedFiles, *, host: str = "captured", now: datetime | None = None
            ) -> HostReport:
    """Build a host report from files; a missing file is a UsageError naming it."""
    lsof = parse_lsof_file(_existing(files.lsof))
    vms = parse_vm_list(_read(files.vm_list)) if files.vm_list else []
    setting = find_aio_setting(_read(files.kernel)) if files.kernel else None
    version = parse_version(_read(files.version)) if files.version else None
    fds = None
    events: list[HostdEvent] = []
    if files.vmkernel_log:
        lines = _read(files.vmkernel_log).splitlines()
        fds = summarize_fds(parse_fds_warnings(lines))
        events += parse_hostd_dumps(lines)
    if files.hostd_log:
        events += parse_hostd_starts(_read(files.hostd_log).splitlines())
    return build_report(host, lsof=lsof, vms=vms, setting=setting, version=version,
                        fds=fds, hostd_events=events, now=now)


def _existing(path: Path) -> Path:
    """A file, or a pipe: `--lsof <(ssh root@host vmkvsitools lsof)` works too."""
    if not path.exists() or path.is_dir():
        raise UsageError(f"There is no file {path}.")
    return path


def _read(path: Path) -> str:
    try:
        return _existing(path).read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise UsageError(f"Cannot read {path}: {err.strerror}.") from None
