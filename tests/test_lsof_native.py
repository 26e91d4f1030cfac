"""The C counter (`bot.esx._lsofcount`) agrees with the reference rules on any bytes at all.

Random bytes biased toward lsof's own tokens and what a paste adds (CR, a BOM, Unicode
spaces, prompts): counts, line numbers, skipped lines and their reasons must all equal
`parse_lsof` on the same text. Under CI=true the module must be built."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.esx import lsof_fast, lsof_native
from bot.esx.lsof import parse_lsof, parse_lsof_file
from bot.esx.records import LsofSummary
from tests.needs import require

TOKENS = (
    [b"0", b"7", b"2099517", b"012", b"1" * 18, b"1" * 19, b"vmx", b"VMX", b"vmx-vcpu-0:a b",
     b"CHAR", b"CHAR\r", b"FILE", b"Cartel", b"----", b"|", b"+=", b"vmgfx", b"/vmfs/devices/"
     b"char/vmgfx/vmgfx0", b"vmgf", b"x", b"\xff", b"\xc3\xa9", b"\x00", b"\x0b", b"\x0c",
     b"[root@esx01:~]", b"#", b"\xc2", b"\xe2\x80", b"\xe2", b"\x80", b"\xa0"]
)
SEPARATORS = ([b" ", b"  ", b"\t", b" \t ", b"\n", b"\r\n", b"", b"\r",
                              b"\xc2\xa0", b"\xef\xbb\xbf", b"\xe2\x80\xaf", b"\xe2\x80\x8a",
                              b"\xe2\x80\x8b", b"\xe3\x80\x80", b"\xe1\x9a\x80", b"\xe2\x81\x9f"])
tokens, separators = st.sampled_from(TOKENS), st.sampled_from(SEPARATORS)


@st.composite
def lsof_bytes(draw: st.DrawFn) -> bytes:
    parts = draw(st.lists(st.tuples(tokens, separators), max_size=80))
    return b"".join(token + sep for token, sep in parts)


def _reference(data: bytes) -> LsofSummary:
    return parse_lsof(io.StringIO(data.decode("utf-8", "surrogateescape"), newline="\n"))


def _native(data: bytes) -> LsofSummary:
    summary = lsof_native.count_bytes(data).summary()
    assert lsof_fast.count_bytes(data).summary() == summary
    assert lsof_native.count_bytes(data, split=1).summary() == summary  # in two threads
    return summary


@pytest.fixture(autouse=True)
def _built() -> None:
    require(lsof_native.MISSING)


# Hypothesis draws a few hundred inputs (and shrinks a failing one); the seeded sweeps below
# draw thousands more from the same alphabets, far faster than Hypothesis can generate them.
@settings(max_examples=300, deadline=None)
@given(data=lsof_bytes())
def test_same_answer_as_the_rules_on_any_bytes(data: bytes) -> None:
    assert _native(data) == _reference(data)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300))
def test_same_answer_on_arbitrary_binary(data: bytes) -> None:
    assert _native(data) == _reference(data)


# The C counter reads a line's first 64 bytes at once (SSE2) when 64 bytes are left in the
# buffer, else 8 at a time, and by the full rules when it meets a byte other than printable
# ASCII, space and tab before the third field ends: these inputs put lsof's padding, paste
# bytes and line lengths around 64 where those paths meet.
PADS = ([b" " * n for n in (1, 2, 7, 8, 9, 15, 16, 17, 31, 40, 56, 63, 64, 65)]
        + [b"\t", b" \t", b"\t" * 9])
pads = st.sampled_from(PADS)
TAIL = b"\n" + b"2099517 vmx CHAR 5 /vmfs/devices/char/vmgfx/vmgfx0 " + b"x" * 64 + b"\n"


@st.composite
def padded_lines(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.lists(st.tuples(tokens, pads | separators), max_size=8),
                          max_size=12))
    body = b"\n".join(b"".join(token + pad for token, pad in line) for line in lines)
    return body + draw(st.sampled_from([TAIL, b"", b"\n"]))


@settings(max_examples=200, deadline=None)
@given(data=padded_lines())
def test_same_answer_on_padded_lines_of_any_length(data: bytes) -> None:
    assert _native(data) == _reference(data)


def _random_bytes(rng: random.Random) -> bytes:
    return b"".join(rng.choice(TOKENS) + rng.choice(SEPARATORS)
                    for _ in range(rng.randrange(81)))


def _random_padded(rng: random.Random) -> bytes:
    lines = [b"".join(rng.choice(TOKENS) + rng.choice(PADS + SEPARATORS)
                      for _ in range(rng.randrange(9)))
             for _ in range(rng.randrange(13))]
    return b"\n".join(lines) + rng.choice([TAIL, b"", b"\n"])


@pytest.mark.parametrize("draw", [_random_bytes, _random_padded])
def test_same_answer_on_thousands_of_seeded_inputs(draw: Callable[[random.Random], bytes]
                                                   ) -> None:
    rng = random.Random(20261202)  # fixed: a failure names its case and reproduces
    for case in range(3000):
        data = draw(rng)
        assert _native(data) == _reference(data), (case, data)


LINE = b"2099517   vmx" + b" " * 31 + b"CHAR      63      /vmfs/devices/char/vmgfx/vmgfx0"
ODD = [b"\r", b"\x0b", b"\x0c", b"\x00", b"\x01", b"\x1f", b"\x7f", b"\t", b" ", b"-", b"|",
       b"\xc2\xa0", b"\xe3\x80\x80", b"\xef\xbb\xbf", b"\xe2\x80\x8b", b"\xff", b"\xc2", b"v"]


@pytest.mark.parametrize("odd", ODD)
def test_same_answer_with_a_paste_byte_at_every_column(odd: bytes) -> None:
    lines = []
    for at in range(len(LINE) + 1):
        lines.append(LINE[:at] + odd + LINE[at:])  # inserted
        lines.append(LINE[:at] + odd + LINE[at + 1:])  # in place of a byte
        lines.append(LINE[:at] + odd)  # the line cut after it
    for data in (b"\n".join(lines) + TAIL, b"\n".join(lines)):
        assert _native(data) == _reference(data)
    for line in lines:  # each line alone: at the buffer's end, fewer than 64 bytes left
        assert _native(line) == _reference(line)
        assert _native(line + TAIL) == _reference(line + TAIL)


def test_many_cartels_and_types_grow_the_tables() -> None:
    lines = [f"{c} {'vmx' if c % 2 else 'sh'} {'CHAR' if c % 3 else f'T{c}'} 1 vmgfx"
             for c in range(1, 20_001)]
    data = ("\n".join(lines) + "\n").encode()
    assert _native(data) == _reference(data)
    summary = lsof_native.count_bytes(data).summary()
    assert len(summary.cartels) == sum(1 for c in range(1, 20_001) if c % 3)
    assert len(summary.types) == 1 + sum(1 for c in range(1, 20_001) if not c % 3)


def test_the_skipped_line_is_cut_from_the_mapped_file(tmp_path: Path) -> None:
    path = tmp_path / "lsof.txt"
    path.write_bytes(b"1 vmx CHAR 1 vmgfx\n" * 1000 + b"1 vmx\n" + b"2 vmx CHAR\n")
    skipped = parse_lsof_file(path).skipped
    assert [(s.line_no, s.text, s.why) for s in skipped] == [(1001, "1 vmx", "fewer than 3 fields")]


def test_count_accepts_only_buffers() -> None:
    with pytest.raises(TypeError):
        lsof_native.count_bytes("1 vmx CHAR\n")  # type: ignore[arg-type]
