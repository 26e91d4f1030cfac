"""Reading a captured file: a plain file, a pipe, or a gzip file (rotated logs), and saying
what a capture looks like when it is not the output it should be."""

from __future__ import annotations

from pathlib import Path

from bot import messages
from bot.errors import UsageError

GZIP_MAGIC = b"\x1f\x8b"
_SNIFF = 8192


def existing(path: Path) -> Path:
    """A file, or a pipe: `--lsof <(ssh root@host vmkvsitools lsof)` works too."""
    if not path.exists() or path.is_dir():
        raise UsageError(messages.capture_missing(str(path)))
    return path


def is_gzip(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open("rb") as f:
        return f.read(2) == GZIP_MAGIC


def read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it is a gzip file."""
    import gzip  # only for rotated logs: most captures are plain text
    import zlib

    try:
        data = existing(path).read_bytes()
        return gzip.decompress(data) if data[:2] == GZIP_MAGIC else data
    except (OSError, EOFError, zlib.error) as err:
        reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
        raise UsageError(messages.capture_unreadable(str(path), reason)) from None


def read_text(path: Path) -> str:
    return read_bytes(path).decode("utf-8", errors="replace")


def head(path: Path) -> bytes:
    """The first bytes of the capture (decompressed), to say what it looks like."""
    if is_gzip(path):
        import gzip

        with gzip.open(path, "rb") as f:
            return f.read(_SNIFF)
    if not path.is_file():
        return b""
    with path.open("rb") as f:
        return f.read(_SNIFF)


def looks_like(sample: bytes) -> str:
    """What a capture that is not `vmkvsitools lsof` output looks like, in words."""
    if b"\x00" in sample or sample.decode("utf-8", "replace").count("\ufffd") > len(sample) // 10:
        return "it looks like a binary file"
    text = sample.decode("utf-8", "replace")
    if "COMMAND" in text and "PID" in text and ("USER" in text or "FD" in text):
        return ("it looks like Linux or macOS `lsof` output (COMMAND PID USER FD ... columns); "
                "ESXi's is `vmkvsitools lsof`")
    if "World ID:" in text or "VMX Cartel ID" in text:
        return "it looks like `esxcli vm process list` output"
    if not text.strip():
        return "it holds no lines"
    return "no line starts with a cartel ID followed by a world name and a type"
