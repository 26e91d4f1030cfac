"""Logs as they are kept: 7.0 rotation headers and the 6.7 marker (not restarts), hostd/vobd
crash lines (one dump per crash), and vmkernel lines forwarded to a syslog server.

Fixture forms follow the hostd lines asserted in fox-it/dissect.target's ESXi log tests and
the vobd/vmkernel forms in docs (see tests/fixtures/SOURCES.md); the FDS warning text itself
is reconstructed (no public capture of one is known)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.esx.logs import (
    merge_dumps,
    parse_fds_warnings,
    parse_hostd_dumps,
    parse_hostd_starts,
    since,
    untimed_fds_lines,
)
from bot.esx.logtime import line_time

FIXTURES = Path(__file__).parent / "fixtures" / "esx"
NOW = datetime(2025, 11, 28, 9, 0, tzinfo=UTC)


def _lines(name: str) -> list[str]:
    return (FIXTURES / name).read_text().splitlines()


def test_rotation_headers_are_not_restarts() -> None:
    starts = parse_hostd_starts(_lines("hostd_70_rotations.log"))
    assert [(s.detail, s.time) for s in starts] == [
        ("pid=2099676", datetime(2022, 11, 9, 9, 15, 36, 339000, tzinfo=UTC)),
        ("pid=2101877", datetime(2025, 11, 27, 14, 3, 9, 870000, tzinfo=UTC)),
    ]
    assert [s.detail for s in since(starts, datetime(2025, 11, 26, 9, tzinfo=UTC))] == [
        "pid=2101877"]


def test_the_67_marker_has_no_start_time_of_its_own() -> None:
    starts = parse_hostd_starts(_lines("hostd_67.log"))
    assert [(s.detail, s.time) for s in starts] == [
        ("pid=2098599", datetime(2025, 8, 22, 7, 35, 20, 895000, tzinfo=UTC)),
        ("pid=2112040", datetime(2025, 8, 23, 10, 1, 2, 333000, tzinfo=UTC)),
    ]


def test_a_crash_seen_by_vmkernel_and_vobd_is_one_dump() -> None:
    dumps = parse_hostd_dumps(_lines("vobd_crash.log")) + parse_hostd_dumps(
        _lines("vmkernel_syslog.log"), NOW)
    assert len(dumps) == 2
    [merged] = merge_dumps(dumps)
    assert merged.detail == "/var/core/hostd-worker-zdump.000"
    assert merged.time == datetime(2025, 11, 27, 14, 2, 51, 700000, tzinfo=UTC)


def test_syslog_forwarded_vmkernel_lines() -> None:
    lines = _lines("vmkernel_syslog.log")
    warnings = parse_fds_warnings(lines, NOW)
    assert [(w.line_no, w.time) for w in warnings] == [
        (1, datetime(2025, 11, 27, 14, 1, 3, tzinfo=UTC)),
        (2, datetime(2025, 11, 27, 14, 1, 4, 120000, tzinfo=UTC)),
        (3, datetime(2025, 11, 27, 14, 1, 5, 310000, tzinfo=UTC)),
    ]
    assert [n for n, _ in untimed_fds_lines(lines, NOW)] == [5]


def test_rfc3164_year_is_the_one_before_now() -> None:
    line = "Dec 31 23:59:59 esx01 vmkernel: cpu0:1)x"
    assert line_time(line, datetime(2026, 1, 1, 0, 5, tzinfo=UTC)) == datetime(
        2025, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert line_time("Feb 30 10:00:00 esx01 x", NOW) is None
