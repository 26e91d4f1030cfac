"""The time window of the log counts `aio-bot analyze` gives: the whole capture (its first
to its last timed line), or from `--since` (a duration back from the capture's last line, or
an ISO time) to the capture's last line."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot import messages
from bot.errors import UsageError
from bot.esx.logtime import iso_time, line_time, parse_time
from bot.esx.records import LogWindow

_DURATION = re.compile(r"(?P<n>[0-9]{1,6})\s*(?P<unit>[smhdw])", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SCAN = 200  # lines looked at from each end of a log for its first and last time


def parse_since(text: str) -> timedelta | datetime:
    """`24h`, `90m`, `7d`, `2w`, or an ISO time (no zone means UTC)."""
    match = _DURATION.fullmatch(text.strip())
    if match:
        unit = _UNITS[match["unit"].lower()]
        return timedelta(**{unit: int(match["n"])})
    try:
        return parse_time(text.strip())
    except ValueError:
        raise UsageError(f"--since takes a duration such as 24h, 90m or 7d, or an ISO time "
                         f"such as 2025-11-27T09:00Z, not {messages.shown(text)!r}.") from None


def reference(logs: Sequence[Sequence[str]], now: datetime) -> datetime:
    """The time RFC 3164 lines (no year) are placed before: a day after the logs' last ISO
    time, or `now` when they have none."""
    times = [t for lines in logs for t in (_first_iso(lines), _first_iso(lines[::-1])) if t]
    return max(times) + timedelta(days=1) if times else now


def _first_iso(lines: Sequence[str]) -> datetime | None:
    return next((t for line in lines[:_SCAN] if (t := iso_time(line)) is not None), None)


def span(logs: Sequence[Sequence[str]], now: datetime) -> tuple[datetime, datetime] | None:
    """The first and last times in the logs' lines, None when no line has a time."""
    times = [t for lines in logs for t in (_first(lines, now), _first(lines[::-1], now)) if t]
    return (min(times), max(times)) if times else None


def _first(lines: Sequence[str], now: datetime) -> datetime | None:
    for line in lines[:_SCAN]:
        found = line_time(line, now)
        if found is not None:
            return found
    return None


def window(capture: tuple[datetime, datetime] | None, since: timedelta | datetime | None,
           now: datetime) -> LogWindow:
    """The window for the counts, and its words."""
    end = capture[1] if capture else now
    if since is None:
        if capture is None:
            return LogWindow(None, None, "in the capture (no timed lines)")
        return LogWindow(capture[0], end, messages.window_in_capture(_at(capture[0]), _at(end)))
    start = end - since if isinstance(since, timedelta) else since
    return LogWindow(start, end, messages.window_since(_at(start), _at(end)))


def _at(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
