"""Plain typed records parsed from ESXi output. No I/O, no formatting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal


@dataclass(frozen=True, slots=True)
class VmProcess:
    """One block of `esxcli vm process list` (running VMs only)."""

    name: str
    world_id: int
    cartel_id: int
    process_id: int | None = None
    uuid: str | None = None
    config_file: str | None = None
    title: str | None = None  # the block's first line, when it differs from the Display Name


@dataclass(frozen=True, slots=True)
class CartelHandles:
    """Handles one cartel (a process: a VM's VMX, hostd, ...) holds, from `vmkvsitools lsof`.

    `vmgfx_handles` is exactly what KB 408376's pipeline counts for this cartel: lines whose
    Type is CHAR, whose World name is `vmx` and which mention `vmgfx` anywhere.
    `char_handles` counts every CHAR line of the cartel, whatever its world.
    """

    cartel_id: int
    char_handles: int
    vmgfx_handles: int


@dataclass(frozen=True, slots=True)
class SkippedLine:
    """A line of a capture that was not used, and why (for `input_warnings`)."""

    line_no: int
    text: str
    why: str


@dataclass(frozen=True, slots=True)
class InputWarning:
    """A skipped line with the file it came from: what `input_warnings` lists."""

    file: str
    line: int
    text: str
    why: str


@dataclass(frozen=True, slots=True)
class LsofSummary:
    """`vmkvsitools lsof` reduced to counts. `skipped` holds the first lines that were not
    counted (at most 20), `skipped_total` how many there were in all."""

    cartels: dict[int, CartelHandles]
    types: dict[str, int] = field(default_factory=dict)
    lines: int = 0
    skipped: tuple[SkippedLine, ...] = ()
    skipped_total: int = 0

    @property
    def char_handles(self) -> int:
        return sum(c.char_handles for c in self.cartels.values())

    @property
    def vmgfx_handles(self) -> int:
        return sum(c.vmgfx_handles for c in self.cartels.values())


@dataclass(frozen=True, slots=True)
class KernelSetting:
    """One row of `esxcli system settings kernel list -o NAME`."""

    name: str
    type: str
    configured: int
    runtime: int
    default: int
    description: str = ""

    @property
    def reboot_pending(self) -> bool:
        """Configured changes at `kernel set`, Runtime only after a reboot."""
        return self.configured != self.runtime


@dataclass(frozen=True, slots=True)
class EsxVersion:
    """`esxcli system version get` or `vmware -vl`."""

    product: str
    version: str
    build: int
    update: str | None = None
    patch: str | None = None

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.version.split(".") if p.isdigit())


@dataclass(frozen=True, slots=True)
class FdsWarning:
    """A vmkernel.log `WARNING: FDS: ...: No free handles` line."""

    time: datetime
    line_no: int
    text: str


HostdEventKind = Literal["restart", "coredump"]


@dataclass(frozen=True, slots=True)
class HostdEvent:
    """A hostd (re)start marker in hostd.log, or a hostd core dump in vmkernel.log."""

    kind: HostdEventKind
    time: datetime | None
    detail: str
    line_no: int = 0


@dataclass(frozen=True, slots=True)
class FixVerdict:
    """Whether `FDSNumAIOHandles=65536` can be applied on this host, and why."""

    available: bool
    reason: str


@dataclass(frozen=True, slots=True)
class FdsWarningSummary:
    """FDS "No free handles" warnings in a window: how many, the first and the last, and
    how many in each hour (keys `YYYY-MM-DDTHH`, UTC)."""

    count: int = 0
    first: FdsWarning | None = None
    last: FdsWarning | None = None
    per_hour: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LogWindow:
    """The time span a report's log counts cover; `label` says it in words ("in the last
    24 h", "in the capture, 2025-11-26 09:00 to 11-28 09:00 UTC")."""

    start: datetime | None
    end: datetime | None
    label: str


@dataclass(frozen=True, slots=True)
class CaptureFile:
    """One capture `analyze` looked for (in a support bundle, say): where it was found, or
    None when it was not there."""

    kind: str
    path: str | None
