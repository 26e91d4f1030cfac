"""Progress of a long scan on a terminal: one line on stderr, rewritten in place."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.esx.collect import HostFailure, Progress, ScanOutcome


def terminal_progress(stream: TextIO | None = None) -> Progress | None:
    """A progress callback when `stream` (default: stderr) is a terminal, else None."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None
    failed = 0

    async def show(done: int, total: int, outcome: ScanOutcome) -> None:
        nonlocal failed
        failed += isinstance(outcome, HostFailure)
        tail = f", {failed} failed" if failed else ""
        end = "\n" if done == total else ""
        stream.write(f"\rscanned {done}/{total} hosts{tail}{end}")
        stream.flush()

    return show
