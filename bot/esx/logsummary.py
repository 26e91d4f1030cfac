"""FDS warnings and hostd core dumps summarised: from full vmkernel.log lines (analyze) or
from the host-side reduction in `bot.esx.commandlines.VMKERNEL_AWK` (collectors). Both give
the same `FdsWarningSummary`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from bot.errors import ParseError
from bot.esx.logs import parse_fds_warnings, parse_hostd_dumps
from bot.esx.records import FdsWarning, FdsWarningSummary, HostdEvent

FORMAT = "vmkernel.log summary"


def summarize_fds(warnings: Iterable[FdsWarning], since: datetime | None = None
                  ) -> FdsWarningSummary:
    """Count, first, last and per-hour counts of the warnings at or after `since`."""
    kept = [w for w in warnings if since is None or w.time >= since]
    if not kept:
        return FdsWarningSummary()
    hours = Counter(w.time.strftime("%Y-%m-%dT%H") for w in kept)
    return FdsWarningSummary(len(kept), kept[0], kept[-1], dict(sorted(hours.items())))


def parse_vmkernel_reduced(text: str) -> tuple[FdsWarningSummary, list[HostdEvent]]:
    """Read the F/L/H/D/N lines; a missing N line means the output was cut short."""
    first = last = None
    hours: dict[str, int] = {}
    dumps: list[str] = []
    count: int | None = None
    for line_no, line in enumerate(text.splitlines(), 1):
        tag, _, rest = line.partition(" ")
        if tag in ("F", "L"):
            warning = _one_warning(rest, line_no)
            first, last = (warning, last) if tag == "F" else (first, warning)
        elif tag == "H":
            hour, _, n = rest.rpartition(" ")
            hours[hour] = _count(n, line_no, line)
        elif tag == "D":
            dumps.append(rest)
        elif tag == "N":
            count = _count(rest, line_no, line)
        elif line.strip():
            raise ParseError(FORMAT, line_no, line, "unknown line")
    if count is None:
        raise ParseError(FORMAT, len(text.splitlines()), text[-80:], "output ends early")
    summary = FdsWarningSummary(count, first, last, dict(sorted(hours.items())))
    return summary, parse_hostd_dumps(dumps)


def _one_warning(line: str, line_no: int) -> FdsWarning:
    found = parse_fds_warnings([line])
    if not found:
        raise ParseError(FORMAT, line_no, line, "not an FDS warning")
    return FdsWarning(found[0].time, line_no, found[0].text)


def _count(value: str, line_no: int, line: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise ParseError(FORMAT, line_no, line, "not a count")
    return int(value)
