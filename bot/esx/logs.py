"""Evidence of KB 408376 in the host's logs.

vmkernel.log, 7.0 and 8.0 prefixes (an `opID=...` may follow the world ID), or forwarded to
a syslog server (see `bot.esx.logtime` for the headers read):

    2025-06-01T12:00:00.630Z cpu0:262792)WARNING: FDS: 1234: Could not initialize AIO handles 0x43...: No free handles
    2025-06-01T12:00:00.810Z Wa(180) vmkwarning: cpu3:2097803)WARNING: FDS: ...: No free handles
    2025-06-01T12:00:01.000Z In(182) vmkernel: cpu1:2099000)UserDump: 3167: hostd-worker: Dumping cartel 2098765 (from world 2099000) to file /var/core/hostd-worker-zdump.000 ...

hostd.log, at every start of hostd and at the head of every rotated log (7.0 adds `last log
rotation time, <ts> - ` before it; 6.7 writes no time after `last started`; 9.0 says ESXi):

    ... time the service was last started 2025-06-01T12:04:58.123Z, Section for VMware ESX, pid=2099887, version=8.0.3, build=25205845, option=Release

A hostd start is a new process: a pid or a "last started" time not seen before, counted
once, at the time it started. hostd and vobd also log a crash as text:

    ... /bin/hostd crashed (1 time(s) so far) and a core file might have been created at /var/core/hostd-worker-zdump.000 ...

Unrelated lines are ignored: logs are noisy and these parsers never raise. Times are UTC.
"""  # noqa: E501

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from bot.esx.logtime import TIME, line_time, parse_time
from bot.esx.records import FdsWarning, HostdEvent

__all__ = [
    "merge_dumps",
    "parse_fds_warnings",
    "parse_hostd_dumps",
    "parse_hostd_starts",
    "parse_time",
    "since",
    "untimed_fds_lines",
]

_FDS = re.compile(r"\bWARNING: FDS: .*No free handles")
_DUMP = re.compile(
    r"UserDump: .*?Dumping cartel (?P<cartel>\d+) \(from world (?P<world>\d+)\) "
    r"to file (?P<file>\S*hostd\S*)"
)
_CRASH = re.compile(r"/hostd\b\S* crashed \(\d+ time\(s\) so far\) and a core file .*?"
                    r"(?P<file>/\S*hostd\S*)")
_START = re.compile(
    rf"time the service was last started(?: (?P<started>{TIME}))?,? "
    r"Section for VMware ESXi?, pid=(?P<pid>\d+)"
)
SAME_CRASH = timedelta(minutes=10)


class _Timed(Protocol):
    @property
    def time(self) -> datetime | None: ...


T = TypeVar("T", bound=_Timed)


def _strip(raw: str) -> str:
    return raw.rstrip("\r\n")


def parse_fds_warnings(lines: Iterable[str], now: datetime | None = None) -> list[FdsWarning]:
    """`WARNING: FDS: ...: No free handles` lines with their time and 1-based line number;
    lines without a time, and every other line, are left out."""
    found = []
    for line_no, raw in enumerate(lines, 1):
        line = _strip(raw)
        if _FDS.search(line):
            time = line_time(line, now)
            if time is not None:
                found.append(FdsWarning(time, line_no, line.strip()))
    return found


def untimed_fds_lines(lines: Iterable[str], now: datetime | None = None) -> list[tuple[int, str]]:
    """FDS warning lines that carry no time: they cannot be placed in a window."""
    return [(n, _strip(raw)) for n, raw in enumerate(lines, 1)
            if _FDS.search(raw) and line_time(_strip(raw), now) is None]


def parse_hostd_dumps(lines: Iterable[str], now: datetime | None = None) -> list[HostdEvent]:
    """hostd core dumps: vmkernel `UserDump: ... Dumping cartel ... to file
    /var/core/hostd-worker-zdump.NNN` lines, and hostd/vobd `... hostd crashed ... core file
    ... /var/core/...` lines; detail is the core file."""
    found = []
    for line_no, raw in enumerate(lines, 1):
        line = _strip(raw)
        match = _DUMP.search(line) or _CRASH.search(line)
        if match:
            core = match["file"].rstrip(".,;:")
            found.append(HostdEvent("coredump", line_time(line, now), core, line_no))
    return found


def merge_dumps(events: Sequence[HostdEvent]) -> list[HostdEvent]:
    """One event per crash: the vmkernel UserDump line and the hostd/vobd crash line of the
    same core file within 10 minutes are one dump."""
    kept: list[HostdEvent] = []
    for event in sorted(events, key=_when):
        if not any(k.detail == event.detail and _close(k, event) for k in kept):
            kept.append(event)
    return kept


def _when(event: HostdEvent) -> datetime:
    return event.time or datetime.min.replace(tzinfo=UTC)


def _close(a: HostdEvent, b: HostdEvent) -> bool:
    if a.time is None or b.time is None:
        return a.time is b.time
    return abs(a.time - b.time) <= SAME_CRASH


def parse_hostd_starts(lines: Iterable[str], now: datetime | None = None) -> list[HostdEvent]:
    """hostd processes from hostd.log: one event per pid and "last started" time, at the
    time it started (the line's own time when the marker has none, as in 6.7); detail is
    `pid=<pid>`. The markers that head rotated logs repeat a process already seen."""
    seen: dict[tuple[str, str | None], HostdEvent] = {}
    for line_no, raw in enumerate(lines, 1):
        line = _strip(raw)
        match = _START.search(line)
        if not match:
            continue
        ident = (match["pid"], match["started"])
        started = parse_time(match["started"]) if match["started"] else line_time(line, now)
        earlier = seen.get(ident)
        if earlier is None or (started is not None and _when(earlier) > started):
            seen[ident] = HostdEvent("restart", started, f"pid={match['pid']}", line_no)
    return sorted(seen.values(), key=lambda e: (_when(e), e.line_no))


def since(events: Sequence[T], cutoff: datetime) -> list[T]:
    """The events at or after `cutoff` (naive means UTC); events without a time are left
    out, since they cannot be shown to be recent."""
    limit = cutoff if cutoff.tzinfo else cutoff.replace(tzinfo=UTC)
    return [e for e in events if e.time is not None and e.time >= limit]
