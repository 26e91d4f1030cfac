"""Files that simulated hosts run or read while they change: replaced whole, never rewritten.

Two ways a rewrite goes wrong while a host runs commands:
- Opening a script for writing while a shell executes it fails with `OSError: [Errno 26]
  Text file busy`, and a shell reading a script that is being rewritten runs part of it.
  `write_atomic` writes a new file next to the old one and renames it over the old one:
  a running command keeps the old file, the next one gets the new one whole.
- `exec` of a script fails with ETXTBSY while any process holds that file open for writing,
  and a child forked by another thread of this process holds a copy of every open
  descriptor until it has called exec. So while an executable is being written here, no
  simulated host may be starting a command: writers of executables take `spawn_gate`
  exclusively, and the simulated hosts take it shared around `Popen` (which returns only
  once the child has exec'd and thereby closed its copies).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path


class SpawnGate:
    """A shared/exclusive lock: many spawns at once, or one executable being written.

    A waiting writer holds new spawns back, so a busy fleet cannot starve it."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._spawning = 0
        self._writing = False
        self._writers_waiting = 0

    @contextlib.contextmanager
    def spawning(self) -> Iterator[None]:
        with self._cond:
            while self._writing or self._writers_waiting:
                self._cond.wait()
            self._spawning += 1
        try:
            yield
        finally:
            with self._cond:
                self._spawning -= 1
                if self._spawning == 0:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writing or self._spawning:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


spawn_gate = SpawnGate()


def write_atomic(path: Path | str, text: str | bytes, mode: int = 0o644) -> None:
    """Replace `path` with `text` (mode `mode`) in one rename: readers and running commands
    see the old file or the new one, never part of either. Safe from several threads and
    processes at once (each writes its own temporary file)."""
    target = Path(path)
    data = text.encode() if isinstance(text, str) else text
    gate = spawn_gate.writing() if mode & 0o111 else contextlib.nullcontext()
    with gate:  # no write descriptor of an executable may leak into a forked child
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                   dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                os.fchmod(fh.fileno(), mode)
        except BaseException:
            os.unlink(tmp)
            raise
    try:
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
