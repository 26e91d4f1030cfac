"""Evidence of KB 408376 in the host's logs.

vmkernel.log, 7.0 and 8.0 prefixes (an `opID=...` may follow the world ID):

    2025-06-01T12:00:00.630Z cpu0:262792)WARNING: FDS: 1234: Could not initialize AIO handles 0x43...: No free handles
    2025-06-01T12:00:00.810Z Wa(180) vmkwarning: cpu3:2097803)WARNING: FDS: ...: No free handles
    2025-06-01T12:00:01.000Z In(182) vmkernel: cpu1:2099000)UserDump: 3167: hostd-worker: Dumping cartel 2098765 (from world 2099000) to file /var/core/hostd-worker-zdump.000 ...

hostd.log, at every start of hostd (9.0 says `VMware ESXi`):

    ... time the service was last started 2025-06-01T12:04:58.123Z, Section for VMware ESX, pid=2099887, version=8.0.3, build=25205845, option=Release

Unrelated lines are ignored: logs are noisy and these parsers never raise. Times are UTC.
"""  # noqa: E501

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from bot.esx.records import FdsWarning, HostdEvent

_TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"
_LEADING_TIME = re.compile(rf"\s*(?P<time>{_TIME})")
_VMK_PREFIX = (
    rf"\s*(?P<time>{_TIME})\s+"
    r"(?:[A-Z][a-z]\(\d+\)\s+[\w.-]+(?:\[\d+\])?:\s+)?"  # 8.0: `Wa(180) vmkwarning: `
    r"cpu\d+:\d+(?:\s+opID=[^)\s]*)?\)"  # `cpu3:2097803 opID=abc)`
)
_FDS = re.compile(_VMK_PREFIX + r"\s*WARNING: FDS: .*No free handles")
_DUMP = re.compile(
    r"UserDump: .*?Dumping cartel (?P<cartel>\d+) \(from world (?P<world>\d+)\) "
    r"to file (?P<file>\S*hostd\S*)"
)
_START = re.compile(
    rf"time the service was last started (?P<started>{_TIME}),? "
    r"Section for VMware ESXi?, pid=(?P<pid>\d+)"
)


class _Timed(Protocol):
    @property
    def time(self) -> datetime | None: ...


T = TypeVar("T", bound=_Timed)


def parse_time(text: str) -> datetime:
    """An ESXi log timestamp as an aware UTC datetime (no zone means UTC)."""
    stamp = datetime.fromisoformat(text)
    if stamp.tzinfo is None:
        return stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC)


def _strip(raw: str) -> str:
    return raw.rstrip("\r\n")


def parse_fds_warnings(lines: Iterable[str]) -> list[FdsWarning]:
    """`WARNING: FDS: ...: No free handles` lines with their time and 1-based line number;
    every other line is ignored."""
    found = []
    for line_no, raw in enumerate(lines, 1):
        line = _strip(raw)
        match = _FDS.match(line)
        if match:
            found.append(FdsWarning(parse_time(match.group("time")), line_no, line.strip()))
    return found


def _leading_time(line: str) -> datetime | None:
    match = _LEADING_TIME.match(line)
    return parse_time(match.group("time")) if match else None


def parse_hostd_dumps(lines: Iterable[str]) -> list[HostdEvent]:
    """hostd core dumps from vmkernel.log `UserDump: ... Dumping cartel ... to file
    /var/core/hostd-worker-zdump.NNN` lines; detail is the core file."""
    found = []
    for line_no, raw in enumerate(lines, 1):
        line = _strip(raw)
        match = _DUMP.search(line)
        if match:
            found.append(HostdEvent("coredump", _leading_time(line), match["file"], line_no))
    return found


def parse_hostd_starts(lines: Iterable[str]) -> list[HostdEvent]:
    """hostd (re)starts from hostd.log; detail is `pid=<pid>`, time the line's own
    timestamp, or the one after `last started` when the line has none."""
    found = []
    for line_no, raw in enumerate(lines, 1):
        line = _strip(raw)
        match = _START.search(line)
        if match:
            time = _leading_time(line) or parse_time(match["started"])
            found.append(HostdEvent("restart", time, f"pid={match['pid']}", line_no))
    return found


def since(events: Sequence[T], cutoff: datetime) -> list[T]:
    """The events at or after `cutoff` (naive means UTC); events without a time are left
    out, since they cannot be shown to be recent."""
    limit = cutoff if cutoff.tzinfo else cutoff.replace(tzinfo=UTC)
    return [e for e in events if e.time is not None and e.time >= limit]
