"""Timestamps of ESXi log lines, in the forms the logs are kept in.

- the host's own: `2025-06-01T12:00:00.630Z cpu0:262792)...` (7.0) and
  `2025-06-01T12:00:00.810Z In(182) vmkernel: cpu0:2098001)...` (8.0);
- forwarded to a syslog server or a log platform: an RFC 5424 header
  (`<166>1 2025-06-01T12:00:00.810Z esx01 vmkernel - - - cpu0:...`), an RFC 3164 header
  (`Jun  1 12:00:00 esx01 vmkernel: cpu0:...`, no year, no zone), or a host name where the
  level stands (`2025-06-01T12:00:00.810Z esx01 vmkernel: cpu0:...`).

An ISO time anywhere in the line's header wins (it has a year and a zone); an RFC 3164 time
is read as UTC in the year that puts it at or before `now`. No zone means UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"
_ISO = re.compile(TIME)
_HEADER_CHARS = 120  # the syslog header and the host's own prefix fit in this
_RFC3164 = re.compile(
    r"\s*(?:<\d{1,3}>)?(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) (?P<hms>\d\d:\d\d:\d\d)\b")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse_time(text: str) -> datetime:
    """An ISO log timestamp as an aware UTC datetime (no zone means UTC)."""
    stamp = datetime.fromisoformat(text)
    if stamp.tzinfo is None:
        return stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC)


def line_time(line: str, now: datetime | None = None) -> datetime | None:
    """The time a log line was written, or None when its header holds no time."""
    match = _ISO.search(line, 0, _HEADER_CHARS)
    if match:
        return iso_time(line)
    return _rfc3164(line, now or datetime.now(UTC))


def iso_time(line: str) -> datetime | None:
    """The ISO time in the line's header only (no RFC 3164 guess)."""
    match = _ISO.search(line, 0, _HEADER_CHARS)
    if not match:
        return None
    try:
        return parse_time(match.group())
    except ValueError:
        return None


def _rfc3164(line: str, now: datetime) -> datetime | None:
    match = _RFC3164.match(line)
    if not match or match["mon"] not in _MONTHS:
        return None
    month = _MONTHS.index(match["mon"]) + 1
    hour, minute, second = (int(p) for p in match["hms"].split(":"))
    for year in (now.year, now.year - 1):
        try:
            stamp = datetime(year, month, int(match["day"]), hour, minute, second, tzinfo=UTC)
        except ValueError:
            return None
        if stamp <= now:
            return stamp
    return None
