"""The log evidence of a captured host, counted in one window: FDS warnings from vmkernel
logs, hostd starts from hostd logs, hostd core dumps from vmkernel, vobd and hostd logs
(one per crash). Several files of a kind (rotations, oldest first) are read as one log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from bot.esx.logs import (
    merge_dumps,
    parse_fds_warnings,
    parse_hostd_dumps,
    parse_hostd_starts,
    untimed_fds_lines,
)
from bot.esx.logsummary import summarize_fds
from bot.esx.records import FdsWarning, FdsWarningSummary, HostdEvent, LogWindow, SkippedLine
from bot.esx.window import reference, span, window

NO_TIME = "an FDS warning without a time: it cannot be placed in the window"
Lines = list[tuple[Path, list[str]]]


@dataclass
class LogEvidence:
    vmkernel: Lines = field(default_factory=list)
    hostd: Lines = field(default_factory=list)
    vobd: Lines = field(default_factory=list)


@dataclass(frozen=True)
class LogCounts:
    window: LogWindow
    fds: FdsWarningSummary | None
    events: list[HostdEvent]
    skipped: list[tuple[str, list[SkippedLine]]]


NOT_CAPTURED = LogWindow(None, None, "no logs captured")


def read_logs(logs: LogEvidence, now: datetime, since: timedelta | datetime | None,
              name: Callable[[Path], str]) -> LogCounts:
    every = [lines for _, lines in (*logs.vmkernel, *logs.hostd, *logs.vobd)]
    if not every:
        return LogCounts(NOT_CAPTURED, None, [], [])
    now = reference(every, now)  # the year of syslog lines without one
    win = window(span(every, now), since, now)
    warnings: list[FdsWarning] = []
    dumps: list[HostdEvent] = []
    skipped: list[tuple[str, list[SkippedLine]]] = []
    for path, lines in logs.vmkernel:
        warnings += parse_fds_warnings(lines, now)
        dumps += parse_hostd_dumps(lines, now)
        untimed = [SkippedLine(n, text, NO_TIME) for n, text in untimed_fds_lines(lines, now)]
        if untimed:
            skipped.append((name(path), untimed))
    for _, lines in (*logs.vobd, *logs.hostd):
        dumps += parse_hostd_dumps(lines, now)
    starts = parse_hostd_starts([line for _, lines in logs.hostd for line in lines], now)
    fds = summarize_fds(sorted(_inside(warnings, win), key=lambda w: w.time)) \
        if logs.vmkernel else None
    events = _inside(starts, win) + _inside(merge_dumps(dumps), win)
    return LogCounts(win, fds, events, skipped)


T = TypeVar("T", FdsWarning, HostdEvent)


def _inside(items: list[T], win: LogWindow) -> list[T]:
    return [i for i in items if i.time is not None
            and (win.start is None or i.time >= win.start)
            and (win.end is None or i.time <= win.end)]
