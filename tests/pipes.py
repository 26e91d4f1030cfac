"""A named pipe fed from a thread, for readers that must take a pipe as well as a file."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def fifo_with(path: Path, data: bytes) -> Iterator[Path]:
    """`path` made a FIFO that gives `data` to its first reader."""
    os.mkfifo(path)
    writer = threading.Thread(target=path.write_bytes, args=(data,))
    writer.start()
    try:
        yield path
    finally:
        writer.join(1.0)  # done at once when the reader drained the pipe
        if writer.is_alive():  # the reader failed before draining it: unblock the writer
            path.read_bytes()
        writer.join()
