"""FDS warnings and hostd events from vmkernel.log and hostd.log."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.esx.logs import parse_fds_warnings, parse_hostd_dumps, parse_hostd_starts, since

FIXTURES = Path(__file__).parent / "fixtures" / "esx"


def _lines(name: str) -> list[str]:
    with (FIXTURES / name).open(newline="\n") as f:
        return list(f)


def test_fds_warnings_70_prefix_with_opid() -> None:
    warnings = parse_fds_warnings(_lines("vmkernel_70.log"))
    assert [w.line_no for w in warnings] == [2, 3, 4]
    assert warnings[0].time == datetime(2025, 6, 1, 12, 0, 0, 630000, tzinfo=UTC)
    assert warnings[2].text.startswith("2025-06-01T12:00:01.002Z cpu1:262900 opID=7f3a1b2c)")
    assert all(w.time.tzinfo is not None for w in warnings)


def test_fds_warnings_80_prefixes() -> None:
    warnings = parse_fds_warnings(_lines("vmkernel_80.log"))
    assert [w.line_no for w in warnings] == [2, 3, 4]
    assert warnings[2].time == datetime(2025, 6, 1, 12, 0, 1, 120000, tzinfo=UTC)
    assert "opID=b1d3c9f0-01" in warnings[2].text


def test_noise_is_ignored_not_fatal() -> None:
    noise = ["", "garbage", "WARNING: FDS: 1: No free handles", "\x00\xff", "2025-13-99T99:99 x"]
    assert parse_fds_warnings(noise) == []
    assert parse_hostd_dumps(noise) == []
    assert parse_hostd_starts(noise) == []


def test_offset_and_crlf() -> None:
    line = "2025-06-01T14:00:00+02:00 cpu0:1)WARNING: FDS: 9: Could not ... No free handles\r\n"
    [warning] = parse_fds_warnings([line])
    assert warning.time == datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert not warning.text.endswith("\r")


def test_hostd_dumps() -> None:
    dumps = parse_hostd_dumps(_lines("vmkernel_80.log")) + parse_hostd_dumps(
        _lines("vmkernel_70.log")
    )
    assert [(d.kind, d.detail, d.line_no) for d in dumps] == [
        ("coredump", "/var/core/hostd-worker-zdump.001", 7),
        ("coredump", "/var/core/hostd-worker-zdump.000", 6),
    ]
    assert dumps[0].time == datetime(2025, 6, 1, 12, 0, 3, 300000, tzinfo=UTC)


def test_hostd_starts_80_and_90() -> None:
    starts = parse_hostd_starts(_lines("hostd.log"))
    assert [(s.kind, s.detail, s.line_no) for s in starts] == [
        ("restart", "pid=2098765", 2),
        ("restart", "pid=2099887", 3),
        ("restart", "pid=2100001", 4),
    ]
    # A start is counted at the time the process started, not when the marker was logged.
    assert starts[1].time == datetime(2025, 6, 1, 12, 4, 58, 123000, tzinfo=UTC)
    assert starts[2].time == datetime(2025, 6, 2, 8, 0, 1, tzinfo=UTC)


def test_since() -> None:
    starts = parse_hostd_starts(_lines("hostd.log"))
    recent = since(starts, datetime(2025, 6, 1, 12, 0, tzinfo=UTC))
    assert [s.detail for s in recent] == ["pid=2099887", "pid=2100001"]
    assert since(starts, datetime(2025, 6, 1, 12, 0)) == recent
    warnings = parse_fds_warnings(_lines("vmkernel_80.log"))
    assert len(since(warnings, datetime(2025, 6, 1, 12, 0, 1, tzinfo=UTC))) == 1
