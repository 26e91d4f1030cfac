"""`aio-bot analyze`: the same report from output captured by hand or from a support bundle.

Every capture is read as pasted (prompt lines, CRLF, a BOM, Unicode spaces, cut lines); the
lines not used are reported as input warnings, never dropped silently. A capture is refused
only when nothing in it has the expected shape. What was not captured is said so: no kernel
list means the setting is "not captured" (not absent); no logs means no log counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot import messages
from bot.errors import UsageError
from bot.esx import capture_read
from bot.esx.lsof import parse_lsof_bytes, parse_lsof_file
from bot.esx.records import (
    CaptureFile,
    EsxVersion,
    InputWarning,
    KernelSetting,
    LogWindow,
    LsofSummary,
    SkippedLine,
)
from bot.esx.report import CaptureNotes, HostReport, build_report

if TYPE_CHECKING:
    from bot.esx.analyze_logs import LogEvidence

MAX_WARNINGS = 20
NO_LOGS = LogWindow(None, None, "no logs captured")


@dataclass(frozen=True)
class CapturedFiles:
    """The captures to read; `names` shows a file under another name (its path in a bundle);
    `kernel_is_delta`: the kernel list is `-d` output, where a missing row proves nothing."""

    lsof: Path | None = None
    vm_list: Path | None = None
    kernel: Path | None = None
    version: Path | None = None
    vmkernel_log: Path | None = None
    hostd_log: Path | None = None
    vmkernel_logs: tuple[Path, ...] = ()
    hostd_logs: tuple[Path, ...] = ()
    vobd_logs: tuple[Path, ...] = ()
    kernel_is_delta: bool = False
    names: dict[Path, str] = field(default_factory=dict)
    captures: tuple[CaptureFile, ...] = ()

    def name(self, path: Path) -> str:
        return self.names.get(path, str(path))


@dataclass
class _Skips:
    """Input warnings as they come, the first 20 kept, all counted."""

    shown: list[InputWarning] = field(default_factory=list)
    total: int = 0

    def add(self, file: str, skipped: list[SkippedLine] | tuple[SkippedLine, ...],
            total: int | None = None) -> None:
        for s in skipped:
            if len(self.shown) < MAX_WARNINGS:
                self.shown.append(InputWarning(file, s.line_no, s.text.rstrip("\r"), s.why))
        self.total += len(skipped) if total is None else total


def analyze(files: CapturedFiles, *, host: str = "captured", now: datetime | None = None,
            since: timedelta | datetime | None = None) -> HostReport:
    """Build a host report from files; a missing file is a UsageError naming it."""
    skips = _Skips()
    lsof = _lsof(files, skips) if files.lsof else LsofSummary({})
    vms = []
    if files.vm_list:  # each reader is imported only when its capture is given
        from bot.esx.vmlist import read_vm_list

        found = read_vm_list(capture_read.read_text(files.vm_list))
        vms = found.vms
        skips.add(files.name(files.vm_list), found.skipped)
    setting, setting_captured = _setting(files)
    version = _version(files)
    window, fds, events = NO_LOGS, None, []
    if _has_logs(files):  # the log readers are imported only when there are logs
        from bot.esx.analyze_logs import read_logs

        evidence = read_logs(_logs(files), now or datetime.now(UTC), since, files.name)
        window, fds, events = evidence.window, evidence.fds, evidence.events
        for file, skipped in evidence.skipped:
            skips.add(file, skipped)
    notes = CaptureNotes(setting_captured=setting_captured, lsof_captured=files.lsof is not None,
                         window=window, warnings=tuple(skips.shown),
                         warnings_total=skips.total, captures=files.captures)
    return build_report(host, lsof=lsof, vms=vms, setting=setting, version=version,
                        fds=fds, hostd_events=events, notes=notes)


def _has_logs(files: CapturedFiles) -> bool:
    return bool(files.vmkernel_log or files.hostd_log or files.vmkernel_logs
                or files.hostd_logs or files.vobd_logs)


def _lsof(files: CapturedFiles, skips: _Skips) -> LsofSummary:
    assert files.lsof is not None
    path = capture_read.existing(files.lsof)
    if capture_read.is_gzip(path):
        summary = parse_lsof_bytes(capture_read.read_bytes(path))
    else:
        summary = parse_lsof_file(path)
    sample = capture_read.head(path)
    if not summary.types and (summary.skipped_total or b"\x00" in sample):
        raise UsageError(messages.capture_refused(
            "`vmkvsitools lsof`", files.name(path), capture_read.looks_like(sample)))
    skips.add(files.name(path), summary.skipped, summary.skipped_total)
    return summary


def _setting(files: CapturedFiles) -> tuple[KernelSetting | None, bool]:
    """The FDSNumAIOHandles row, and whether the capture can say the row is absent."""
    if files.kernel is None:
        return None, False
    from bot.esx.kernel import find_aio_setting

    setting = find_aio_setting(capture_read.read_text(files.kernel))
    return setting, setting is not None or not files.kernel_is_delta


def _version(files: CapturedFiles) -> EsxVersion | None:
    if files.version is None:
        return None
    from bot.esx.version import parse_version

    return parse_version(capture_read.read_text(files.version))


def _logs(files: CapturedFiles) -> LogEvidence:
    from bot.esx.analyze_logs import LogEvidence

    vmkernel = (*((files.vmkernel_log,) if files.vmkernel_log else ()), *files.vmkernel_logs)
    hostd = (*((files.hostd_log,) if files.hostd_log else ()), *files.hostd_logs)
    return LogEvidence(
        vmkernel=[(p, capture_read.read_text(p).splitlines()) for p in vmkernel],
        hostd=[(p, capture_read.read_text(p).splitlines()) for p in hostd],
        vobd=[(p, capture_read.read_text(p).splitlines()) for p in files.vobd_logs],
    )
