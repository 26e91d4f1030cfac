"""A host's AIO handle picture, built from parsed ESXi output. Pure: no I/O.

`build_report` is shared by the SSH collectors and `aio-bot analyze` (output captured by
hand), so both give the same numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.esx.fix import fix_verdict, update_name
from bot.esx.records import (
    CaptureFile,
    EsxVersion,
    FdsWarningSummary,
    FixVerdict,
    HostdEvent,
    InputWarning,
    KernelSetting,
    LogWindow,
    LsofSummary,
    VmProcess,
)

DEFAULT_AIO_HANDLES = 32768
RECENT = timedelta(hours=24)
LAST_24H = LogWindow(None, None, "in the last 24 h")


@dataclass(frozen=True, slots=True)
class VmUsage:
    """One VM (or unnamed VMX cartel) and the handles it holds."""

    rank: int
    name: str | None
    cartel_id: int
    world_id: int | None
    uuid: str | None
    vmgfx_handles: int
    char_handles: int
    title: str | None = None  # the VM list block's first line, when not its Display Name


@dataclass(frozen=True, slots=True)
class HandleLimit:
    """FDSNumAIOHandles. `configured` is None when the host has no such setting, or when it
    was not captured (`captured` False: the runtime shown is the documented default)."""

    configured: int | None
    runtime: int
    default: int
    captured: bool = True

    @property
    def reboot_pending(self) -> bool:
        return self.configured is not None and self.configured != self.runtime


@dataclass(frozen=True, slots=True)
class HostReport:
    """Everything `top`, `check` and `scan` say about one host."""

    host: str
    cluster: str | None
    version: EsxVersion | None
    limit: HandleLimit
    in_use: int
    vms: list[VmUsage]
    fix: FixVerdict
    fds: FdsWarningSummary = field(default_factory=FdsWarningSummary)
    hostd_events: list[HostdEvent] = field(default_factory=list)
    collected_at: datetime | None = None
    bytes_received: int = 0
    window: LogWindow = field(default_factory=lambda: LAST_24H)
    input_warnings: tuple[InputWarning, ...] = ()  # the first 20 lines not used
    input_warnings_total: int = 0
    lsof_captured: bool = True
    captures: tuple[CaptureFile, ...] = ()
    unread: tuple[str, ...] = ()  # parts of a host read that failed alone: "hostd: why"

    @property
    def percent_used(self) -> float:
        return 100.0 * self.in_use / self.limit.runtime if self.limit.runtime else 0.0

    @property
    def headroom(self) -> int:
        return self.limit.runtime - self.in_use

    @property
    def update_name(self) -> str | None:
        return update_name(self.version) if self.version else None

    @property
    def vmgfx_total(self) -> int:
        return sum(vm.vmgfx_handles for vm in self.vms)


def handle_limit(setting: KernelSetting | None, captured: bool = True) -> HandleLimit:
    """The limit in force: the setting's row, or the documented default when it is absent
    or was not captured."""
    if setting is None:
        return HandleLimit(None, DEFAULT_AIO_HANDLES, DEFAULT_AIO_HANDLES, captured)
    return HandleLimit(setting.configured, setting.runtime, setting.default)


def rank_vms(lsof: LsofSummary, vms: list[VmProcess]) -> list[VmUsage]:
    """Join lsof's cartels to `esxcli vm process list` on VMX Cartel ID, heaviest first.

    Every running VM is listed (with zero handles if lsof shows none); a cartel with vmgfx
    handles but no VM in the list is kept with no name."""
    by_cartel = {vm.cartel_id: vm for vm in vms}
    rows: list[tuple[int, int, VmProcess | None, int]] = []
    for cartel_id in by_cartel.keys() | _vmgfx_cartels(lsof):
        handles = lsof.cartels.get(cartel_id)
        vmgfx = handles.vmgfx_handles if handles else 0
        char = handles.char_handles if handles else 0
        rows.append((vmgfx, char, by_cartel.get(cartel_id), cartel_id))
    rows.sort(key=lambda r: (-r[0], -r[1], r[3]))
    return [
        VmUsage(
            rank=i,
            name=vm.name if vm else None,
            cartel_id=cartel_id,
            world_id=vm.world_id if vm else None,
            uuid=vm.uuid if vm else None,
            vmgfx_handles=vmgfx,
            char_handles=char,
            title=vm.title if vm else None,
        )
        for i, (vmgfx, char, vm, cartel_id) in enumerate(rows, start=1)
    ]


def _vmgfx_cartels(lsof: LsofSummary) -> set[int]:
    return {c.cartel_id for c in lsof.cartels.values() if c.vmgfx_handles > 0}


def build_report(
    host: str,
    *,
    lsof: LsofSummary,
    vms: list[VmProcess],
    setting: KernelSetting | None,
    version: EsxVersion | None,
    fds: FdsWarningSummary | None = None,
    hostd_events: Sequence[HostdEvent] = (),
    cluster: str | None = None,
    now: datetime | None = None,
    bytes_received: int = 0,
    notes: CaptureNotes | None = None,
) -> HostReport:
    """Combine parsed output into a report; hostd events older than 24 h before `now` are
    dropped (the FDS summary comes already windowed). `notes` (from `aio-bot analyze`) say
    what was not captured, the window of the log counts and the lines not used."""
    notes = notes or CaptureNotes()
    return HostReport(
        host=host,
        cluster=cluster,
        version=version,
        limit=handle_limit(setting, notes.setting_captured),
        in_use=lsof.char_handles,
        vms=rank_vms(lsof, vms),
        fix=fix_verdict(version, setting, captured=notes.setting_captured),
        fds=fds or FdsWarningSummary(),
        hostd_events=_recent(list(hostd_events), now),
        collected_at=now,
        bytes_received=bytes_received,
        window=notes.window,
        input_warnings=notes.warnings,
        input_warnings_total=notes.warnings_total,
        lsof_captured=notes.lsof_captured,
        captures=notes.captures,
    )


@dataclass(frozen=True, slots=True)
class CaptureNotes:
    """What a report built from captured files says about the captures themselves."""

    setting_captured: bool = True
    lsof_captured: bool = True
    window: LogWindow = LAST_24H
    warnings: tuple[InputWarning, ...] = ()
    warnings_total: int = 0
    captures: tuple[CaptureFile, ...] = ()


def _recent(events: list[HostdEvent], now: datetime | None) -> list[HostdEvent]:
    if now is None:
        return events
    cutoff = now - RECENT
    return [e for e in events if e.time is None or e.time >= cutoff]
