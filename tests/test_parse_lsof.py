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


def test_bad_line_is_skipped_and_named() -> None:
    summary = parse_lsof(_lines(FIXTURES / "lsof_bad_line.txt"))
    assert summary.skipped_total == 1
    assert summary.skipped[0].line_no == 5
    assert summary.skipped[0].text.startswith("lsof: error reading cartel")


def test_file_bad_line_is_skipped_and_named(read_file: ReadFile) -> None:
    summary = read_file(FIXTURES / "lsof_bad_line.txt")
    assert summary == parse_lsof(_lines(FIXTURES / "lsof_bad_line.txt"))
    assert [s.line_no for s in summary.skipped] == [5]


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("012 vmx CHAR 3 /vmfs/devices/char/vmgfx/x", "cartel"),
        ("2099517 vmx", "fewer than 3"),
        ("+12 vmx CHAR 3 x", "cartel"),
        ("１２ vmx CHAR 3 x", "cartel"),
        ("12\x0bvmx", "fewer than 3"),
        ("-- 12 vmx CHAR", "cartel"),
        ("[root@esx01:~] vmkvsitools lsof", "prompt"),
        ("~ # vmkvsitools lsof | grep vmx", "prompt"),
    ],
)
def test_malformed_lines_are_skipped_with_the_reason(line: str, why: str) -> None:
    summary = parse_lsof(["Cartel | World name | Type | fd | Description", "", line, "1 sh FILE"])
    assert summary.types == {"FILE": 1}
    assert summary.skipped_total == 1
    assert summary.skipped[0].line_no == 3
    assert summary.skipped[0].text == line
    assert why in summary.skipped[0].why


@pytest.mark.parametrize("bad", ["012 vmx CHAR 3 x", "0 vmx", "12x vmx CHAR", "x 1 CHAR"])
def test_file_counters_skip_bad_lines(read_file: ReadFile, tmp_path: Path, bad: str) -> None:
    path = tmp_path / "lsof.txt"
    path.write_text("0 vmx CHAR 1 vmgfx\n" * 50 + bad + "\n" + "1 vmx FILE 2 x\n" * 50)
    summary = read_file(path)
    assert [(s.line_no, s.text) for s in summary.skipped] == [(51, bad)]
    assert summary.types == {"CHAR": 50, "FILE": 50}


def test_only_the_first_20_skipped_lines_are_kept(read_file: ReadFile, tmp_path: Path) -> None:
    path = tmp_path / "lsof.txt"
    path.write_text("junk\n1 vmx CHAR 1 vmgfx\n" * 30)
    summary = read_file(path)
    assert summary.skipped_total == 30
    assert [s.line_no for s in summary.skipped] == list(range(1, 40, 2))
    assert summary == parse_lsof(_lines(path))


def test_field_splitting_is_busybox_awk_plus_pasted_unicode_spaces() -> None:
    assert awk_fields(" a\t\tb  c ") == ["a", "b", "c"]
    # busybox awk (ESXi's) splits on \r, \v and \f; a paste adds no-break spaces and a BOM
    assert awk_fields("a\rb\x0cc\x0bd\xa0e\u202ff\ufeffg\u3000h") == list("abcdefgh")
    assert awk_fields("a\x1cb\u200bc") == ["a\x1cb\u200bc"]  # not spaces to anyone
    summary = parse_lsof(["12 vmx CHAR\r", "12 vmx CHAR /vmfs/devices/char/vmgfx/0\r"])
    assert summary.types == {"CHAR": 2}
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
    assert summary.types == {"CHAR": 3}
    assert summary.cartels[1] == CartelHandles(1, char_handles=3, vmgfx_handles=2)


def test_file_with_old_mac_line_ends(read_file: ReadFile, tmp_path: Path) -> None:
    path = tmp_path / "lsof.txt"
    path.write_bytes(b"Cartel | World\r1 vmx CHAR 1 vmgfx\r\r2 vmx CHAR 3 vmgfx\r")
    summary = read_file(path)
    assert summary.lines == 4
    assert summary.cartels[2] == CartelHandles(2, char_handles=1, vmgfx_handles=1)
    assert summary == parse_lsof([path.read_bytes().decode()])


def test_a_paste_counts_like_the_clean_capture(read_file: ReadFile, tmp_path: Path) -> None:
    clean = SMALL.read_text()
    pasted = ("\ufeff[root@esx01:~] vmkvsitools lsof\r\n"
              + clean.replace("\n", "\r\n").replace("   vmx", "\u00a0\u00a0vmx")
              + "[root@esx01:~] ")
    path = tmp_path / "lsof.txt"
    path.write_text(pasted, encoding="utf-8", newline="")
    summary = read_file(path)
    assert summary.cartels == parse_lsof(_lines(SMALL)).cartels
    assert [(s.line_no, s.why) for s in summary.skipped] == [
        (1, "a shell prompt or command line"), (20, "a shell prompt or command line")]


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
    skipped = read_file(path).skipped
    assert [(s.line_no, s.text) for s in skipped] == [(2, "\udcfe2 vmx CHAR")]
    path.write_bytes(b"1 vmx CH\xffR 1 x\n")
    assert read_file(path).types == {"CH\udcffR": 1}


def test_file_that_is_not_regular_is_counted_too(tmp_path: Path) -> None:
    with fifo_with(tmp_path / "lsof.fifo", SMALL.read_bytes()) as fifo:
        assert parse_lsof_file(fifo) == parse_lsof(_lines(SMALL))


def test_file_skip_in_a_late_chunk_and_in_the_forked_half(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lsof_fast, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(lsof_fast, "can_fork", lambda: True)
    monkeypatch.setattr(lsof_fast, "CHUNK", 4096)
    good = "2099517   vmx   CHAR   63   /vmfs/devices/char/vmgfx/vmgfx0\n"
    path = tmp_path / "lsof.txt"
    path.write_text(good * 5000 + "oops\n" + good * 10 + "oops\n")
    summary = lsof_fast.count_file(path).summary()
    assert [s.line_no for s in summary.skipped] == [5001, 5012]
    assert summary == parse_lsof(_lines(path))
    path.write_text(good * 10 + "oops\n" + good * 5000)
    assert [s.line_no for s in lsof_fast.count_file(path).skipped] == [11]


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


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_bytes_in_memory_are_counted_in_chunks_cut_at_line_ends(
    end: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lsof_fast, "CHUNK", 100)
    good = b"2099517   vmx   CHAR   63   /vmfs/devices/char/vmgfx/vmgfx0" + end
    data = b"\xef\xbb\xbfCartel | World" + end + good * 40 + b"oops" + end + good * 3 + b"x y"
    text = data.decode("utf-8")
    summary = lsof_fast.count_bytes(data).summary()
    assert summary == parse_lsof([text])
    assert [s.line_no for s in summary.skipped] == [42, 46]


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
