"""Count a `vmkvsitools lsof` file with the C module `bot.esx._lsofcount`, when it is built.

setup.py builds it at install time if a C compiler is there (optional: the install goes on
without one, and `AVAILABLE` is False). The file is memory-mapped and counted in one pass
without the GIL (from `SPLIT` bytes on, in two threads, each half of the file: POSIX, more
than one CPU); the answer is a `Tally`, as from the Python counters.
"""

from __future__ import annotations

import mmap
import os
from types import ModuleType

from bot.esx.lsof_rules import FEW_FIELDS, MAX_TEXT, NOT_A_CARTEL, Tally, reason
from bot.esx.records import SkippedLine


def _load() -> ModuleType | None:
    try:
        from bot.esx import _lsofcount  # type: ignore[attr-defined]
    except ImportError:  # not built: bot.esx.lsof counts in Python instead
        return None
    module: ModuleType = _lsofcount
    return module


_native = _load()
AVAILABLE = _native is not None
MISSING = None if AVAILABLE else (
    "bot.esx._lsofcount is not built (no C compiler when the project was installed)")
_WHY = {1: FEW_FIELDS, 2: NOT_A_CARTEL}
SPLIT = 8 << 20  # bytes: a buffer this large is counted in two threads


def count_file(path: str | os.PathLike[str]) -> Tally:
    """Count a regular file; lines not counted are in the tally's `skipped`."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return Tally()
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return count_bytes(data)


def count_bytes(data: bytes | mmap.mmap, *, split: int = SPLIT) -> Tally:
    """Count lsof output held in memory; lines not counted are in the tally's `skipped`.
    `split`: from this many bytes on, in two threads (the tests make it 1)."""
    if _native is None:
        raise RuntimeError("bot.esx._lsofcount is not built")
    lines, types, cartels, bad, bad_total = _native.count(data, split)
    tally = _tally(lines, types, cartels)
    tally.skipped_total = bad_total
    for line_no, start, end, code in bad:
        text = _text(data[start:end])[:MAX_TEXT]
        tally.skipped.append(SkippedLine(line_no, text, reason(text, _WHY[code])))
    return tally


def _tally(lines: int, types: dict[bytes, int], cartels: dict[bytes, tuple[int, int]]) -> Tally:
    tally = Tally(lines=lines)
    for kind, n in types.items():
        tally.types[_text(kind)] = n
    for cartel, (chars, vmgfx) in cartels.items():
        key = cartel.decode("ascii")
        tally.chars[key] = chars
        if vmgfx:
            tally.vmgfx[key] = vmgfx
    return tally


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")
