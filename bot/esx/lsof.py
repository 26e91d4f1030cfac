"""Count open handles from `vmkvsitools lsof`, exactly as KB 408376's pipeline does.

Input format (one open file per line, columns padded with runs of spaces or tabs):

    Cartel | World name | Type | fd | Description
    -------------------------------------------------
    2099517   vmx                 CHAR      63    /vmfs/devices/char/vmgfx/vmgfx0

The semantics are those of `LSOF_AWK` in `bot.esx.commandlines`, line for line:

- fields are split the way awk's default FS splits them: on runs of space and tab only
  (not on \\r, \\v, \\f or other Unicode spaces);
- blank lines, header lines (first field `Cartel`) and separator lines (only `-=|+`, space,
  tab) are skipped;
- any other line whose first field is not a canonical decimal cartel ID (`0`, or digits
  without a leading zero) or that has fewer than 3 fields is an error; so is an ID of more
  than 18 digits (awk would count it; no host has one, and Python will not convert it);
- every other line counts once under its Type ($3); a CHAR line counts for its cartel ($1),
  and as a vmgfx handle when its World name ($2) is exactly `vmx` and the line mentions
  `vmgfx` anywhere (what `grep vmgfx` matches).

Three entry points: `parse_lsof` (lines of text), `parse_lsof_file` (a file, fast) and
`parse_reduced` (the output of `LSOF_AWK` run on the host).
"""

from __future__ import annotations

import os
import pickle
import re
import signal
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import eq, itemgetter
from typing import BinaryIO, NoReturn

from bot.errors import ParseError
from bot.esx.records import CartelHandles, LsofSummary

FORMAT = "vmkvsitools lsof"
REDUCED_FORMAT = "reduced vmkvsitools lsof"

_MAX_DIGITS = 18  # cartel IDs and counts; more is junk (and int() refuses > 4300 digits)
_CANONICAL = re.compile(rf"0|[1-9][0-9]{{0,{_MAX_DIGITS - 1}}}")
_SEPARATOR = re.compile(r"[-=|+ \t]+")
_CANONICAL_RUN = re.compile(rb"(?:0|[1-9][0-9]*)(?: (?:0|[1-9][0-9]*))*")
_AWK_ONLY_SPACE = (b"\r", b"\x0b", b"\x0c")
_CHUNK = 1 << 16
_PARALLEL_MIN_BYTES = 8 << 20

_first = itemgetter(0)
_third = itemgetter(2)


@dataclass
class _Tally:
    """Running counts while reading; `summary()` freezes them."""

    types: Counter[str] = field(default_factory=Counter)
    chars: Counter[str] = field(default_factory=Counter)
    vmgfx: Counter[str] = field(default_factory=Counter)
    lines: int = 0

    def plus(self, other: _Tally) -> _Tally:
        """Counts of this part of a file followed by `other`."""
        return _Tally(
            self.types + other.types,
            self.chars + other.chars,
            self.vmgfx + other.vmgfx,
            self.lines + other.lines,
        )

    def summary(self) -> LsofSummary:
        cartels = {
            int(k): CartelHandles(int(k), n, self.vmgfx.get(k, 0)) for k, n in self.chars.items()
        }
        return LsofSummary(cartels=cartels, types=dict(self.types), lines=self.lines)


def awk_fields(line: str) -> list[str]:
    """Split `line` like awk's default FS: runs of space and tab, nothing else."""
    return [f for f in line.replace("\t", " ").split(" ") if f]


def _count_line(tally: _Tally, line_no: int, line: str) -> None:
    """Apply LSOF_AWK to one line (without its newline); raise on an unreadable line."""
    fields = awk_fields(line)
    if not fields or fields[0] == "Cartel" or _SEPARATOR.fullmatch(line):
        return
    if len(fields) < 3:
        raise ParseError(FORMAT, line_no, line, "fewer than 3 fields")
    if not _CANONICAL.fullmatch(fields[0]):
        raise ParseError(FORMAT, line_no, line, "the first field is not a cartel ID")
    cartel, world, kind = fields[0], fields[1], fields[2]
    tally.types[kind] += 1
    if kind == "CHAR":
        tally.chars[cartel] += 1
        if world == "vmx" and "vmgfx" in line:
            tally.vmgfx[cartel] += 1


def parse_lsof(lines: Iterable[str]) -> LsofSummary:
    """Count the handles in `vmkvsitools lsof` output given line by line.

    Each item is one line, with or without its trailing "\\n" (a file object, or
    `io.StringIO(text, newline="\\n")`; `str.splitlines()` also splits on \\r, \\v, \\f and
    others, which awk does not). Raises ParseError naming the first unreadable line.
    """
    tally = _Tally()
    for line_no, raw in enumerate(lines, 1):
        tally.lines = line_no
        _count_line(tally, line_no, raw[:-1] if raw.endswith("\n") else raw)
    return tally.summary()


@dataclass
class _ByteTally:
    """Counts keyed by raw bytes, for the fast path."""

    types: Counter[bytes] = field(default_factory=Counter)
    chars: Counter[bytes] = field(default_factory=Counter)
    vmgfx: Counter[bytes] = field(default_factory=Counter)

    def merge_into(self, tally: _Tally) -> None:
        for mine, theirs in (
            (self.types, tally.types),
            (self.chars, tally.chars),
            (self.vmgfx, tally.vmgfx),
        ):
            for key, n in mine.items():
                theirs[key.decode("utf-8", "surrogateescape")] += n


def _count_chunk_fast(tally: _ByteTally, chunk: bytes, lines: list[bytes]) -> bool:
    """Count a chunk of well-formed lines at C speed; False (nothing counted) otherwise.

    Only valid when the chunk holds no \\r, \\v or \\f (bytes.split() would split on them,
    awk does not). Any line that is blank, a header, a separator or bad makes this
    return False, and the caller counts the chunk line by line instead.
    """
    rows = list(map(bytes.split, lines, repeat(None), repeat(3)))
    try:
        kinds = list(map(_third, rows))
    except IndexError:
        return False
    firsts = list(map(_first, rows))
    if max(map(len, firsts)) > _MAX_DIGITS or not _all_cartel_ids(b" ".join(firsts)):
        return False
    tally.types.update(kinds)
    if b"CHAR" in kinds:
        is_char = list(map(eq, kinds, repeat(b"CHAR")))
        tally.chars.update(compress(firsts, is_char))
        if b"vmgfx" in chunk:
            tally.vmgfx.update(
                [r[0] for r in compress(rows, is_char) if r[1] == b"vmx" and b"vmgfx" in r[-1]]
            )
    return True


def _all_cartel_ids(joined: bytes) -> bool:
    """Whether space-joined first fields are all canonical decimal numbers."""
    if joined.translate(None, b"0123456789 ") or joined.startswith(b"0") or b" 0" in joined:
        return _CANONICAL_RUN.fullmatch(joined) is not None
    return True


def _count_chunk(tally: _Tally, fast: _ByteTally, chunk: bytes, first_line_no: int) -> int:
    """Count the complete lines of `chunk` (no final newline); return how many there were."""
    lines = chunk.split(b"\n")
    if any(c in chunk for c in _AWK_ONLY_SPACE) or not _count_chunk_fast(fast, chunk, lines):
        for line_no, raw in enumerate(lines, first_line_no):
            _count_line(tally, line_no, raw.decode("utf-8", "surrogateescape"))
    return len(lines)


def parse_lsof_file(path: str | os.PathLike[str]) -> LsofSummary:
    """`parse_lsof` on a file, fast: same result, same errors, same line numbers.

    Reads bytes in chunks cut at line ends; chunks of ordinary data lines are counted with
    bytes.split and Counter, anything unusual line by line with `parse_lsof`'s rules.
    Bytes that are not UTF-8 are kept as surrogate escapes in Type names. A large file read
    by a single-threaded process on a multi-core POSIX host is split in two halves, the
    second counted by a forked child process (never in a threaded process such as the bot).
    """
    size = os.path.getsize(path)
    if size >= _PARALLEL_MIN_BYTES and _can_fork():
        return _count_halves(path, _line_boundary(path, size // 2)).summary()
    return _count_range(path, 0, None).summary()


def _can_fork() -> bool:
    return hasattr(os, "fork") and threading.active_count() == 1 and (os.cpu_count() or 1) > 1


def _line_boundary(path: str | os.PathLike[str], near: int) -> int:
    """The offset of the first line that starts at or after `near`."""
    with open(path, "rb") as f:
        f.seek(near - 1)
        f.readline()
        return f.tell()


def _blocks(f: BinaryIO, limit: int | None) -> Iterator[bytes]:
    """Read `f` in chunks, at most `limit` bytes in all (None: to the end)."""
    while limit is None or limit > 0:
        block = f.read(_CHUNK if limit is None else min(_CHUNK, limit))
        if not block:
            return
        if limit is not None:
            limit -= len(block)
        yield block


def _count_range(path: str | os.PathLike[str], start: int, end: int | None) -> _Tally:
    """Count the lines of bytes [start, end) of the file; line numbers count from `start`."""
    tally, fast = _Tally(), _ByteTally()
    line_no, rest = 1, b""
    with open(path, "rb") as f:
        f.seek(start)
        for block in _blocks(f, None if end is None else end - start):
            buf = rest + block
            cut = buf.rfind(b"\n")
            if cut < 0:
                rest = buf
                continue
            line_no += _count_chunk(tally, fast, buf[:cut], line_no)
            rest = buf[cut + 1 :]
    if rest:
        line_no += _count_chunk(tally, fast, rest, line_no)
    fast.merge_into(tally)
    tally.lines = line_no - 1
    return tally


def _count_halves(path: str | os.PathLike[str], boundary: int) -> _Tally:
    """Count [0, boundary) here and [boundary, end) in a forked child, then add them up."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; coverage does not follow it
        os.close(read_end)
        _child(path, boundary, write_end)
    os.close(write_end)
    finished = False
    try:
        head = _count_range(path, 0, boundary)
        with os.fdopen(read_end, "rb") as pipe:
            read_end = -1
            payload = pipe.read()
        finished = True
    finally:
        if read_end >= 0:
            os.close(read_end)
        if not finished:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    tail = _child_result(payload, status, path, boundary, head.lines)
    return head.plus(tail)


def _child(path: str | os.PathLike[str], start: int, fd: int) -> NoReturn:  # pragma: no cover
    """In the forked child: count from `start` to the end, send the result, exit."""
    code = 1
    try:
        try:
            result: object = _count_range(path, start, None)
        except ParseError as err:
            result = (err.line_no, err.line, err.why)
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(pickle.dumps(result))
        code = 0
    finally:
        os._exit(code)


def _child_result(
    payload: bytes, status: int, path: str | os.PathLike[str], start: int, offset: int
) -> _Tally:
    """The child's tally; its ParseError renumbered; recounted here if the child failed."""
    if status != 0 or not payload:
        return _count_range(path, start, None)
    result = pickle.loads(payload)  # noqa: S301 - written by our own forked child, above
    if isinstance(result, tuple):
        line_no, line, why = result
        raise ParseError(FORMAT, offset + line_no, line, why)
    if not isinstance(result, _Tally):
        return _count_range(path, start, None)
    return result


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
    tally = _Tally()
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
    if not _CANONICAL.fullmatch(body):
        raise ParseError(REDUCED_FORMAT, line_no, line, "expected a count")
    return int(body)


def _reduced_bad(line_no: int, line: str, body: str) -> tuple[int, str]:
    number, _, text = body.partition(" ")
    if not _CANONICAL.fullmatch(number):
        raise ParseError(REDUCED_FORMAT, line_no, line, "expected a line number")
    return int(number), text


def _reduced_type(tally: _Tally, line_no: int, line: str, body: str) -> None:
    kind, _, count = body.rpartition(" ")
    if not kind or " " in kind or "\t" in kind:
        raise ParseError(REDUCED_FORMAT, line_no, line, "expected `T <type> <lines>`")
    if kind in tally.types:
        raise ParseError(REDUCED_FORMAT, line_no, line, "the type is reported twice")
    tally.types[kind] = _reduced_count(line_no, line, count)


def _reduced_cartel(tally: _Tally, line_no: int, line: str, body: str) -> None:
    parts = body.split(" ")
    if len(parts) != 3 or not all(_CANONICAL.fullmatch(p) for p in parts):
        raise ParseError(REDUCED_FORMAT, line_no, line, "expected `C <cartel> <char> <vmgfx>`")
    cartel, chars, vmgfx = parts[0], int(parts[1]), int(parts[2])
    if cartel in tally.chars:
        raise ParseError(REDUCED_FORMAT, line_no, line, "the cartel is reported twice")
    if vmgfx > chars:
        raise ParseError(REDUCED_FORMAT, line_no, line, "more vmgfx than CHAR handles")
    tally.chars[cartel] = chars
    tally.vmgfx[cartel] = vmgfx
