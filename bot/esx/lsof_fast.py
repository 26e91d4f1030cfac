"""Count a `vmkvsitools lsof` file in Python, fast: the engine when the C module is not built.

Reads bytes in chunks cut at line ends; chunks of ordinary data lines are counted with
bytes.split and Counter (after turning the Unicode spaces of a paste into plain spaces),
anything unusual line by line with `bot.esx.lsof_rules.count_line`. Same result, same
skipped lines, same line numbers as counting line by line. A large file read by a
single-threaded process on a multi-core POSIX host is split in two halves, the second
counted by a forked child process (never in a threaded process such as the bot).
"""

from __future__ import annotations

import os
import pickle
import re
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import eq, itemgetter
from typing import BinaryIO, NoReturn

from bot.esx.lsof_rules import MAX_DIGITS, Tally, count_line

CHUNK = 1 << 16
PARALLEL_MIN_BYTES = 8 << 20
_CANONICAL_RUN = re.compile(rb"(?:0|[1-9][0-9]*)(?: (?:0|[1-9][0-9]*))*")
# UTF-8 of the Unicode spaces in `bot.esx.lsof_rules.UNICODE_SPACES`; their first bytes are
# never continuation bytes, so a match is always a whole character.
_UNICODE_SPACE = re.compile(
    rb"\xc2\xa0|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]|\xe2\x81\x9f|\xe3\x80\x80"
    rb"|\xef\xbb\xbf")
_UNICODE_LEADS = (b"\xc2", b"\xe1", b"\xe2", b"\xe3", b"\xef")

_first = itemgetter(0)
_third = itemgetter(2)


def count_file(path: str | os.PathLike[str]) -> Tally:
    """Count the whole file; lines not counted are in the tally's `skipped`."""
    size = os.path.getsize(path)
    if size >= PARALLEL_MIN_BYTES and can_fork():
        return _count_halves(path, _line_boundary(path, size // 2))
    return _count_range(path, 0, None)


def can_fork() -> bool:
    return hasattr(os, "fork") and threading.active_count() == 1 and (os.cpu_count() or 1) > 1


@dataclass
class _ByteTally:
    """Counts keyed by raw bytes, for the fast path."""

    types: Counter[bytes] = field(default_factory=Counter)
    chars: Counter[bytes] = field(default_factory=Counter)
    vmgfx: Counter[bytes] = field(default_factory=Counter)

    def merge_into(self, tally: Tally) -> None:
        for mine, theirs in (
            (self.types, tally.types),
            (self.chars, tally.chars),
            (self.vmgfx, tally.vmgfx),
        ):
            for key, n in mine.items():
                theirs[key.decode("utf-8", "surrogateescape")] += n


def _count_chunk_fast(tally: _ByteTally, chunk: bytes, lines: list[bytes]) -> bool:
    """Count a chunk of well-formed lines at C speed; False (nothing counted) otherwise.

    bytes.split() splits on space, tab, \\r, \\v and \\f, as busybox awk does; the chunk's
    Unicode spaces are plain spaces by now. Any line that is blank, a header, a separator
    or bad makes this return False, and the caller counts the chunk line by line instead.
    """
    rows = list(map(bytes.split, lines, repeat(None), repeat(3)))
    try:
        kinds = list(map(_third, rows))
    except IndexError:
        return False
    firsts = list(map(_first, rows))
    if max(map(len, firsts)) > MAX_DIGITS or not _all_cartel_ids(b" ".join(firsts)):
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


def _count_chunk(tally: Tally, fast: _ByteTally, chunk: bytes, first_line_no: int,
                 eol: bytes = b"\n") -> int:
    """Count the complete lines of `chunk` (no final line end); return how many there were."""
    plain = chunk
    if not chunk.isascii() and any(lead in chunk for lead in _UNICODE_LEADS):  # one pass
        plain = _UNICODE_SPACE.sub(b" ", chunk)
    if eol == b"\n":
        plain_lines = plain.split(b"\n")
        if _count_chunk_fast(fast, plain, plain_lines):
            return len(plain_lines)
    lines = chunk.split(eol)
    for line_no, raw in enumerate(lines, first_line_no):
        count_line(tally, line_no, raw.decode("utf-8", "surrogateescape"))
    return len(lines)


def _line_boundary(path: str | os.PathLike[str], near: int) -> int:
    """The offset of the first line that starts at or after `near`."""
    with open(path, "rb") as f:
        f.seek(near - 1)
        f.readline()
        return f.tell()


def _blocks(f: BinaryIO, limit: int | None) -> Iterator[bytes]:
    """Read `f` in chunks, at most `limit` bytes in all (None: to the end)."""
    while limit is None or limit > 0:
        block = f.read(CHUNK if limit is None else min(CHUNK, limit))
        if not block:
            return
        if limit is not None:
            limit -= len(block)
        yield block


def _count_range(path: str | os.PathLike[str], start: int, end: int | None) -> Tally:
    """Count the lines of bytes [start, end) of the file; line numbers count from `start`."""
    with open(path, "rb") as f:
        if start:
            f.seek(start)  # not for a pipe: that one is read whole, from its start
        # a part after the start follows a "\n": its lines cannot end at "\r"
        return count_blocks(_blocks(f, None if end is None else end - start), start > 0)


def count_bytes(data: bytes) -> Tally:
    """Count lsof output held in memory (a capture read from a gzip file, say)."""
    return count_blocks(_line_blocks(data))


def _line_blocks(data: bytes) -> Iterator[bytes]:
    """`data` in blocks of about CHUNK bytes that end at a "\n" (the last one: at the end). A
    million lines at once make lists that cost ten times what chunks cost; a block that
    does not end at "\n" would be copied again with the next one."""
    start = 0
    while start < len(data):
        cut = data.find(b"\n", start + CHUNK)
        if cut < 0:
            yield data[start:]
            return
        yield data[start:cut + 1]
        start = cut + 1


def count_blocks(blocks: Iterator[bytes], seen_newline: bool = False) -> Tally:
    """Count a capture given as consecutive blocks of bytes."""
    tally, fast = Tally(), _ByteTally()
    line_no, rest = 1, b""
    for block in blocks:
        buf = rest + block
        cut = buf.rfind(b"\n")
        if cut < 0:
            rest = buf
            continue
        seen_newline = True
        line_no += _count_chunk(tally, fast, buf[:cut], line_no)
        rest = buf[cut + 1 :]
    if rest:
        eol = b"\n" if seen_newline or b"\r" not in rest else b"\r"  # old Mac line ends
        line_no += _count_chunk(tally, fast, rest.removesuffix(eol), line_no, eol)
    fast.merge_into(tally)
    tally.lines = line_no - 1
    return tally


def _count_halves(path: str | os.PathLike[str], boundary: int) -> Tally:
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
    tail = _child_result(payload, status, path, boundary)
    return head.plus(tail)


def _child(path: str | os.PathLike[str], start: int, fd: int) -> NoReturn:  # pragma: no cover
    """In the forked child: count from `start` to the end, send the result, exit."""
    code = 1
    try:
        result = _count_range(path, start, None)
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(pickle.dumps(result))
        code = 0
    finally:
        os._exit(code)


def _child_result(payload: bytes, status: int, path: str | os.PathLike[str], start: int
                  ) -> Tally:
    """The child's tally; recounted here if the child failed."""
    if status != 0 or not payload:
        return _count_range(path, start, None)
    result = pickle.loads(payload)  # noqa: S301 - written by our own forked child, above
    if not isinstance(result, Tally):
        return _count_range(path, start, None)
    return result
