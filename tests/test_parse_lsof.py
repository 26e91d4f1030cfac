"""parse_lsof, parse_lsof_file and parse_reduced on captures in the real format.

File tests run on both file counters: Python (`lsof_fast`) and C (`lsof_native`)."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.esx import lsof_fast, lsof_native
from bot.esx.commandlines import LSOF_AWK
from bot.esx.lsof import awk_fields, parse_lsof, parse_lsof_file, parse_reduced
from bot.esx.records import CartelHandles, LsofSummary
from tests.needs import require
from tests.pipes import fifo_with

FIXTURES = Path(__file__).parent / "fixtures" / "esx"
SMALL = FIXTURES / "lsof_small.txt"


ReadFile = Callable[[Path], LsofSummary]


@pytest.fixture(params=["python", "c"])
def read_file(request: pytest.FixtureRequest) -> ReadFile:
    """One of the two file counters (parse_lsof_file picks C when it is built)."""
    if request.param == "c":
        require(lsof_native.MISSING)
        return lambda path: lsof_native.count_file(path).summary()
    return lambda path: lsof_fast.count_file(path).summary()


def _lines(path: Path) -> io.StringIO:
    return io.StringIO(path.read_text(), newline="\n")


def test_small_capture_counts_like_the_kb() -> None:
    summary = parse_lsof(_lines(SMALL))
    assert summary.cartels == {
        2099517: CartelHandles(2099517, char_handles=4, vmgfx_handles=2),
        22541452: CartelHandles(22541452, char_handles=2, vmgfx_handles=2),
        2098765: CartelHandles(2098765, char_handles=1, vmgfx_handles=0),
    }
    assert summary.types == {"CHAR": 7, "FILE": 5, "SOCKET": 1, "PIPE": 1, "DIR": 1}
    assert summary.lines == 18
    assert summary.vmgfx_handles == 4
    assert summary.char_handles == 7


def test_file_and_lines_agree(read_file: ReadFile) -> None:
    assert read_file(SMALL) == parse_lsof(_lines(SMALL))
    assert parse_lsof_file(SMALL) == parse_lsof(_lines(SMALL))
    assert parse_lsof_file(str(SMALL)) == parse_lsof(SMALL.read_text().splitlines())


def test_awk_output_fixture_matches() -> None:
    reduced = parse_reduced((FIXTURES / "lsof_small_reduced.txt").read_text())
    assert reduced == parse_lsof_file(SMALL)


def test_real_awk_agrees_on_the_fixture() -> None:
    out = subprocess.run(["awk", LSOF_AWK, str(SMALL)], capture_output=True, text=True, check=True)
    assert parse_reduced(out.stdout) == parse_lsof_file(SMALL)


def test_bad_line_names_its_number() -> None:
    with pytest.raises(ParseError) as err:
        parse_lsof(_lines(FIXTURES / "lsof_bad_line.txt"))
    assert err.value.line_no == 5
    assert err.value.line.startswith("lsof: error reading cartel")
    assert "line 5" in str(err.value)


def test_file_bad_line_names_its_number(read_file: ReadFile) -> None:
    with pytest.raises(ParseError) as err:
        read_file(FIXTURES / "lsof_bad_line.txt")
    assert err.value.line_no == 5
    assert err.value.line.startswith("lsof: error reading cartel")


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("012 vmx CHAR 3 /vmfs/devices/char/vmgfx/x", "cartel"),
        ("2099517 vmx", "fewer than 3"),
        ("+12 vmx CHAR 3 x", "cartel"),
        ("１２ vmx CHAR 3 x", "cartel"),
        ("12\x0bvmx CHAR", "fewer than 3"),
        ("-- 12 vmx CHAR", "cartel"),
    ],
)
def test_malformed_lines(line: str, why: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_lsof(["Cartel | World name | Type | fd | Description", "", line])
    assert err.value.line_no == 3
    assert why in err.value.why


@pytest.mark.parametrize("bad", ["012 vmx CHAR 3 x", "0 vmx", "12x vmx CHAR", "x 1 CHAR"])
def test_file_counters_reject_bad_lines(read_file: ReadFile, tmp_path: Path, bad: str) -> None:
    path = tmp_path / "lsof.txt"
    path.write_text("0 vmx CHAR 1 vmgfx\n" * 50 + bad + "\n" + "1 vmx FILE 2 x\n" * 50)
    with pytest.raises(ParseError) as err:
        read_file(path)
    assert (err.value.line_no, err.value.line) == (51, bad)


def test_awk_field_splitting_is_space_and_tab_only() -> None:
    assert awk_fields(" a\t\tb  c ") == ["a", "b", "c"]
    assert awk_fields("a\rb\x0cc\x0bd\xa0e") == ["a\rb\x0cc\x0bd\xa0e"]
    # `CHAR\r` is not `CHAR` to awk: a CRLF capture counts no CHAR lines, like the KB.
    summary = parse_lsof(["12 vmx CHAR\r", "12 vmx CHAR /vmfs/devices/char/vmgfx/0\r"])
    assert summary.types == {"CHAR\r": 1, "CHAR": 1}
    assert summary.cartels[12].vmgfx_handles == 1


def test_skips_headers_separators_and_blank_lines() -> None:
    lines = ["Cartel", "----+----", "  ", "\t", "==|==", "Cartel anything 1 2", "7 sh FILE 1 x"]
    summary = parse_lsof(lines)
    assert summary.types == {"FILE": 1}
    assert summary.cartels == {}
    assert summary.lines == 7


def test_world_must_be_exactly_vmx() -> None:
    lines = [
        "5 vmx-vcpu-0:vm CHAR 1 /vmfs/devices/char/vmgfx/a",
        "5 VMX CHAR 2 /vmfs/devices/char/vmgfx/a",
        "5 vmx FILE 3 /vmfs/devices/char/vmgfx/a",
        "5 vmx CHAR 4 /vmfs/devices/char/vmkdriver/vmgfxish",
        "5 vmx CHAR 5 /vmfs/devices/char/vmkdriver/vmci",
    ]
    cartel = parse_lsof(lines).cartels[5]
    assert (cartel.char_handles, cartel.vmgfx_handles) == (4, 1)


def test_file_with_crlf_and_no_final_newline(read_file: ReadFile, tmp_path: Path) -> None:
    path = tmp_path / "lsof.txt"
    path.write_bytes(b"1 vmx CHAR 1 vmgfx\r\n1 vmx CHAR\r\n1 vmx CHAR 3 vmgfx")
    summary = read_file(path)
    assert summary.lines == 3
    assert summary.types == {"CHAR": 2, "CHAR\r": 1}
    assert summary.cartels[1] == CartelHandles(1, char_handles=2, vmgfx_handles=2)


def test_file_empty_and_blank(read_file: ReadFile, tmp_path: Path) -> None:
    empty, blank = tmp_path / "empty", tmp_path / "blank"
    empty.write_bytes(b"")
    blank.write_bytes(b"\n\n")
    assert read_file(empty).lines == 0
    assert read_file(blank).lines == 2
    assert read_file(blank).types == {}


def test_file_non_utf8_type_is_kept(read_file: ReadFile, tmp_path: Path) -> None:
    path = tmp_path / "lsof.txt"
    path.write_bytes(b"1 vmx CH\xffR 1 x\n\xfe2 vmx CHAR\n")
    with pytest.raises(ParseError) as err:
        read_file(path)
    assert (err.value.line_no, err.value.line) == (2, "\udcfe2 vmx CHAR")
    path.write_bytes(b"1 vmx CH\xffR 1 x\n")
    assert read_file(path).types == {"CH\udcffR": 1}


def test_file_that_is_not_regular_is_counted_too(tmp_path: Path) -> None:
    with fifo_with(tmp_path / "lsof.fifo", SMALL.read_bytes()) as fifo:
        assert parse_lsof_file(fifo) == parse_lsof(_lines(SMALL))


def test_file_error_in_a_late_chunk_and_in_the_forked_half(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lsof_fast, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(lsof_fast, "can_fork", lambda: True)
    monkeypatch.setattr(lsof_fast, "CHUNK", 4096)
    good = "2099517   vmx   CHAR   63   /vmfs/devices/char/vmgfx/vmgfx0\n"
    path = tmp_path / "lsof.txt"
    path.write_text(good * 5000 + "oops\n" + good * 10)
    with pytest.raises(ParseError) as err:
        lsof_fast.count_file(path)
    assert err.value.line_no == 5001
    path.write_text(good * 10 + "oops\n" + good * 5000)
    with pytest.raises(ParseError) as err:
        lsof_fast.count_file(path)
    assert err.value.line_no == 11


def test_file_parallel_and_serial_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [
        f"{2099517 + (i % 7) * 31}  {'vmx' if i % 3 else 'vmx-vcpu-0:a b'}  "
        f"{['CHAR', 'FILE', 'SOCKET'][i % 3 if i % 5 else 0]}  {i}  /vmfs/devices/char/vmgfx/{i}\n"
        for i in range(30000)
    ]
    path = tmp_path / "lsof.txt"
    path.write_text("Cartel | World name | Type | fd | Description\n" + "".join(lines))
    monkeypatch.setattr(lsof_fast, "CHUNK", 8192)
    serial = lsof_fast.count_file(path).summary()
    monkeypatch.setattr(lsof_fast, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(lsof_fast, "can_fork", lambda: True)
    assert lsof_fast.count_file(path).summary() == serial == parse_lsof(_lines(path))
    assert serial.lines == 30001


def test_reduced_x_line_raises_with_the_lsof_line() -> None:
    with pytest.raises(ParseError) as err:
        parse_reduced((FIXTURES / "lsof_reduced_bad.txt").read_text())
    assert err.value.line_no == 5
    assert err.value.line == "lsof: error reading cartel 2099601: Not found"


def test_reduced_first_x_wins_whatever_the_order() -> None:
    with pytest.raises(ParseError) as err:
        parse_reduced("X 9 later\nX 3 earlier\nN 10\n")
    assert (err.value.line_no, err.value.line) == (3, "earlier")


def test_reduced_cut_output() -> None:
    with pytest.raises(ParseError) as err:
        parse_reduced("C 1 2 1\nT CHAR 2\n")
    assert err.value.why == "output ends early"


@pytest.mark.parametrize(
    "text",
    [
        "Q 1 2\nN 1\n",
        "C 1 2\nN 1\n",
        "C 01 2 1\nN 1\n",
        "T CHAR x\nN 1\n",
        "N many\n",
        "C 1 1 2\nN 1",
    ],
)
def test_reduced_unknown_shapes(text: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_reduced(text)
    assert err.value.line_no == 1


def test_reduced_crlf_and_odd_type() -> None:
    summary = parse_reduced("T CHAR\r 3\r\nC 7 3 1\r\nN 4\r\n")
    assert summary.types == {"CHAR\r": 3}
    assert summary.cartels == {7: CartelHandles(7, 3, 1)}
    assert summary.lines == 4
