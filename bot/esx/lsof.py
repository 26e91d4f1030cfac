"""Count open handles from `vmkvsitools lsof`, exactly as KB 408376's pipeline does.

The rules, line by line, are in `bot.esx.lsof_rules` (those of `LSOF_AWK` in
`bot.esx.commandlines`). Three entry points:

- `parse_lsof`: lines of text, counted one by one with the rules (the reference);
- `parse_lsof_file`: a file, fast: the C module when it is built (`bot.esx.lsof_native`),
  else Python over chunks of bytes (`bot.esx.lsof_fast`); the same answers either way;
- `parse_reduced`: the output of `LSOF_AWK` run on the host.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from bot.errors import ParseError
from bot.esx import lsof_native
from bot.esx.lsof_rules import CANONICAL, FORMAT, Tally, awk_fields, count_line
from bot.esx.paste import split_lines
from bot.esx.records import LsofSummary

__all__ = [
    "FORMAT",
    "REDUCED_FORMAT",
    "awk_fields",
    "parse_lsof",
    "parse_lsof_bytes",
    "parse_lsof_file",
    "parse_reduced",
]

REDUCED_FORMAT = "reduced vmkvsitools lsof"


def parse_lsof(lines: Iterable[str]) -> LsofSummary:
    """Count the handles in `vmkvsitools lsof` output given line by line.

    Each item is one line, with or without its trailing "\\n" (a file object, or
    `io.StringIO(text, newline="\\n")`; `str.splitlines()` also splits on \\v, \\f and
    others, which awk does not). A single item without "\\n" is a whole capture, whose lines
    may end at "\\r". Lines that are not counted are in the summary's `skipped`.
    """
    tally = Tally()
    line_no = 0
    for line_no, raw in enumerate(_lines(lines), 1):
        count_line(tally, line_no, raw)
    tally.lines = line_no
    return tally.summary()


def _lines(items: Iterable[str]) -> Iterator[str]:
    it = iter(items)
    first = next(it, None)
    if first is None:
        return
    if not first.endswith("\n"):
        yield from split_lines(first)
        yield from (raw.removesuffix("\n") for raw in it)
        return
    yield first[:-1]
    yield from (raw.removesuffix("\n") for raw in it)


def parse_lsof_file(path: str | os.PathLike[str]) -> LsofSummary:
    """`parse_lsof` on a file, fast: same result, same skipped lines, same line numbers.

    Bytes that are not UTF-8 are kept as surrogate escapes in Type names."""
    if lsof_native.AVAILABLE and os.path.isfile(path):
        return lsof_native.count_file(path).summary()
    from bot.esx import lsof_fast  # imported only when it counts: analyze starts faster

    return lsof_fast.count_file(path).summary()


def parse_lsof_bytes(data: bytes) -> LsofSummary:
    """`parse_lsof` on a capture held in memory (read from a gzip file, say)."""
    if lsof_native.AVAILABLE:
        return lsof_native.count_bytes(data).summary()
    from bot.esx import lsof_fast

    return lsof_fast.count_bytes(data).summary()


def parse_reduced(text: str) -> LsofSummary:
    """Read the output of `LSOF_AWK` (see `bot.esx.commandlines`), lines in any order:

        C <cartel> <char handles> <vmgfx handles>
        T <type> <lines>
        X <line number> <first 200 characters of an unreadable line>
        N <lines read>

    An X line raises ParseError naming the lsof line it reports (the first one); a line of
    any other shape raises ParseError naming the line of this output; no N line means the
    output was cut off.
    """
    tally = Tally()
    bad: list[tuple[int, str]] = []
    total: int | None = None
    lines = text.split("\n")
    for line_no, raw in enumerate(lines, 1):
        line = raw.rstrip("\r")
        if not line:
            continue
        kind, _, body = line.partition(" ")
        if kind == "X":
            bad.append(_reduced_bad(line_no, line, body))
        elif kind == "N":
            total = _reduced_count(line_no, line, body)
        elif kind == "T":
            _reduced_type(tally, line_no, line, body)
        elif kind == "C":
            _reduced_cartel(tally, line_no, line, body)
        else:
            raise ParseError(REDUCED_FORMAT, line_no, line, "unknown line")
    if bad:
        lsof_line_no, lsof_line = min(bad)
        raise ParseError(FORMAT, lsof_line_no, lsof_line, "the line is not a cartel's open file")
    if total is None:
        last = next((ln for ln in reversed(lines) if ln.strip()), "")
        raise ParseError(REDUCED_FORMAT, len(lines), last, "output ends early")
    tally.lines = total
    return tally.summary()


def _reduced_count(line_no: int, line: str, body: str) -> int:
    if not CANONICAL.fullmatch(body):
        raise ParseError(REDUCED_FORMAT, line_no, line, "expected a count")
    return int(body)


def _reduced_bad(line_no: int, line: str, body: str) -> tuple[int, str]:
    number, _, text = body.partition(" ")
    if not CANONICAL.fullmatch(number):
        raise ParseError(REDUCED_FORMAT, line_no, line, "expected a line number")
    return int(number), text


def _reduced_type(tally: Tally, line_no: int, line: str, body: str) -> None:
    kind, _, count = body.rpartition(" ")
    if not kind or " " in kind or "\t" in kind:
        raise ParseError(REDUCED_FORMAT, line_no, line, "expected `T <type> <lines>`")
    if kind in tally.types:
        raise ParseError(REDUCED_FORMAT, line_no, line, "the type is reported twice")
    tally.types[kind] = _reduced_count(line_no, line, count)


def _reduced_cartel(tally: Tally, line_no: int, line: str, body: str) -> None:
    parts = body.split(" ")
    if len(parts) != 3 or not all(CANONICAL.fullmatch(p) for p in parts):
        raise ParseError(REDUCED_FORMAT, line_no, line, "expected `C <cartel> <char> <vmgfx>`")
    cartel, chars, vmgfx = parts[0], int(parts[1]), int(parts[2])
    if cartel in tally.chars:
        raise ParseError(REDUCED_FORMAT, line_no, line, "the cartel is reported twice")
    if vmgfx > chars:
        raise ParseError(REDUCED_FORMAT, line_no, line, "more vmgfx than CHAR handles")
    tally.chars[cartel] = chars
    tally.vmgfx[cartel] = vmgfx
