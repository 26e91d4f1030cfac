"""Our counts equal KB 408376's pipeline, run for real by busybox sh, awk, grep, sort, uniq
(what ESXi's shell runs; see tests/kb_busybox.py).

    awk '$3=="CHAR" {print $0}' F | grep vmgfx | awk '$2=="vmx" {print $1}' | sort | uniq -c

For every cartel, the vmgfx count from parse_lsof, both file counters (C, when it is built,
and Python) and parse_reduced (of LSOF_AWK run by busybox awk) equals what the pipeline
prints on the clean capture; and after a paste (a prompt line, CRLF or CR, a BOM, Unicode
spaces, blank lines: tests/paste_mutations.py) the counters still give the clean capture's
numbers. A cut line is the one change the pipeline sees too: there its reference is the
capture as cut.
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.esx import lsof_fast, lsof_native
from bot.esx.commandlines import LSOF_AWK
from bot.esx.lsof import parse_lsof, parse_lsof_file, parse_reduced
from bot.esx.records import LsofSummary
from tests.kb_busybox import busybox_awk, kb_counts
from tests.paste_mutations import cuts, pasted

blank = st.text(alphabet=" \t", max_size=4)
gap = st.text(alphabet=" \t", min_size=1, max_size=6)
cartels = st.sampled_from([0, 7, 2099517, 2099548, 22541452, 1000212640])
worlds = st.sampled_from(
    [
        "vmx",
        "vmx",
        "vmx-vcpu-0:Gitlab",
        "vmx-vcpu-1:render farm 01",
        "vmx-svga:café",
        "hostd-worker",
        "VMX",
        "vmxx",
        "vmx\x0b",
    ]
)
kinds = st.sampled_from(["CHAR", "CHAR", "FILE", "SOCKET", "PIPE", "DIR", "CHAR\r"])
path_parts = st.sampled_from(
    [
        "/vmfs/devices/char/vmgfx/vmgfx0",
        "/vmfs/devices/char/vmgfx/ctl",
        "/vmfs/devices/char/vmkdriver/vmci",
        "/vmfs/devices/char/vmkdriver/ipmi0",
        "/vmfs/volumes/6107a9c3-0511c860-9122-fcaa144d4e7d/render farm 01/render farm 01.vmdk",
        "/vmfs/volumes/ds1/vmgfx notes/x.vmdk",
        "vmgf",
        "/vmfs/devices/char/vmgfx\x0c0\r",
        "\rvmgfx",
        "x",
        "",
    ]
)


def _clean(line: str) -> bool:
    return not any(c in line for c in "\r\x0b\x0c")


@st.composite
def data_lines(draw: st.DrawFn) -> str:
    fields = [str(draw(cartels)), draw(worlds), draw(kinds)]
    if draw(st.booleans()):
        fields.append(str(draw(st.integers(0, 4095))))
        fields.append(" ".join(draw(st.lists(path_parts, max_size=3))))
    line = draw(blank)
    for value in fields:
        line += value + draw(gap)
    return line.rstrip(" \t") + draw(blank)


other_lines = st.sampled_from(
    ["Cartel | World name | Type | fd | Description", "-" * 49, "", "  \t ", "----+----|===="]
)
mixed_lines = st.one_of(data_lines(), data_lines(), data_lines(), other_lines)
# Only well-formed data lines without \r, \v or \f: parse_lsof_file's fast path.
clean_lines = data_lines().filter(_clean)
line_lists = st.one_of(st.lists(mixed_lines, max_size=60), st.lists(clean_lines, max_size=60))


@st.composite
def lsof_texts(draw: st.DrawFn) -> str:
    lines = draw(line_lists)
    return "".join(line + "\n" for line in lines) + draw(st.sampled_from(["", "7 vmx CHAR"]))


@st.composite
def long_lsof_texts(draw: st.DrawFn) -> str:
    """At least 200,000 lines: a drawn block of lines repeated."""
    lines = draw(st.sampled_from([mixed_lines, clean_lines]))
    block = draw(st.lists(lines, min_size=1, max_size=40))
    times = -(-200_000 // len(block)) + draw(st.integers(0, 3))
    return "".join(line + "\n" for line in block) * times


def _kb_counts(path: Path) -> Counter[int]:
    return kb_counts(path)


def _vmgfx(summary: LsofSummary) -> Counter[int]:
    return Counter({k: c.vmgfx_handles for k, c in summary.cartels.items() if c.vmgfx_handles})


def _counted(text: str, path: Path) -> LsofSummary:
    """The three counters on `text`, which must agree on everything they report."""
    path.write_text(text, encoding="utf-8", newline="")
    from_lines = parse_lsof(io.StringIO(text, newline="\n"))
    from_file = parse_lsof_file(path)
    assert lsof_fast.count_file(path).summary() == from_lines == from_file
    if lsof_native.AVAILABLE:
        assert lsof_native.count_file(path).summary() == from_lines
    return from_lines


def _check(text: str, path: Path) -> None:
    from_lines = _counted(text, path)
    from_awk = parse_reduced(busybox_awk(LSOF_AWK, path).decode("utf-8", "surrogateescape"))
    assert from_awk == LsofSummary(from_lines.cartels, from_lines.types, from_lines.lines)
    assert from_lines.skipped_total == 0
    assert _vmgfx(from_lines) == _kb_counts(path)


def _check_paste(clean: str, paste: str, tmp: Path) -> None:
    reference = tmp / "clean.txt"
    reference.write_text(clean, encoding="utf-8", newline="")
    counted = _counted(paste, tmp / "pasted.txt")
    assert _vmgfx(counted) == _kb_counts(reference)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=lsof_texts())
def test_short_files_match_the_kb(text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    _check(text, tmp_path_factory.mktemp("kb") / "lsof.txt")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), text=lsof_texts())
def test_pasted_captures_count_like_the_clean_one(
    data: st.DataObject, text: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    clean = data.draw(cuts(text))
    _check_paste(clean, data.draw(pasted(clean)), tmp_path_factory.mktemp("kb"))


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(text=long_lsof_texts())
def test_long_files_match_the_kb(text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    assert text.count("\n") >= 200_000
    _check(text, tmp_path_factory.mktemp("kb") / "lsof.txt")


def test_a_known_file_matches_the_kb(tmp_path: Path) -> None:
    text = (
        "Cartel | World name | Type | fd | Description\n"
        + "2099517  vmx  CHAR  1  /vmfs/devices/char/vmgfx/vmgfx0\n" * 3
        + "2099517  vmx-vcpu-0:a b  CHAR  2  /vmfs/devices/char/vmgfx/vmgfx0\n"
        + "22541452\tvmx\tCHAR\t3\t/vmfs/devices/char/vmgfx/ctl\n"
    )
    _check(text, tmp_path / "lsof.txt")
    assert _kb_counts(tmp_path / "lsof.txt") == Counter({2099517: 3, 22541452: 1})
