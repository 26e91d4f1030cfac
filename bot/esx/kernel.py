"""Parse `esxcli system settings kernel list [-o NAME]`.

    Name              Type    Configured  Runtime  Default  Description
    ----------------  ------  ----------  -------  -------  -----------
    FDSNumAIOHandles  uint32  65536       32768    32768    Number of AIO handles ...

The first five columns never hold spaces; the description (the rest of the line) may.
Configured changes at `kernel set`, Runtime only after a reboot.
"""

from __future__ import annotations

import re

from bot.errors import ParseError
from bot.esx.paste import is_prompt, plain_lines
from bot.esx.records import KernelSetting

FORMAT = "esxcli system settings kernel list"
AIO_SETTING = "FDSNumAIOHandles"

_HEADER = ("name", "type", "configured", "runtime", "default")
_DASHES = re.compile(r"-+(?:\s+-+)*")
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
_NUMERIC_TYPES = re.compile(r"u?int\d*", re.IGNORECASE)


def parse_kernel_list(text: str) -> dict[str, KernelSetting]:
    """Integer settings by name. Empty output, or a header without rows, gives {}.

    Rows of non-numeric types (bool, string) are skipped; a row of a numeric type whose
    values are not integers, a row with fewer than five columns, or output without the
    table header raises ParseError naming the line. Prompt lines, CRLF or CR ends, a BOM
    and Unicode spaces of a paste are dropped first.
    """
    lines = ["" if is_prompt(line) else line for line in plain_lines(text)]
    start = _table_start(lines)
    if start is None:
        return {}
    settings: dict[str, KernelSetting] = {}
    for line_no in range(start + 1, len(lines) + 1):
        line = lines[line_no - 1]
        if not line.strip() or _DASHES.fullmatch(line.strip()):
            continue
        setting = _row(line_no, line)
        if setting is not None:
            settings[setting.name] = setting
    return settings


def _table_start(lines: list[str]) -> int | None:
    """The 1-based number of the header line; None when there is no output at all."""
    for line_no, line in enumerate(lines, 1):
        words = tuple(w.lower() for w in line.split()[:5])
        if words == _HEADER:
            return line_no
        if line.strip():
            raise ParseError(FORMAT, line_no, line, "expected the table header")
    return None


def _row(line_no: int, line: str) -> KernelSetting | None:
    fields = line.split(None, 5)
    if len(fields) < 5:
        raise ParseError(FORMAT, line_no, line, "fewer than five columns")
    name, kind, configured, runtime, default = fields[:5]
    values = (configured, runtime, default)
    if not all(_INTEGER.fullmatch(v) for v in values):
        if _NUMERIC_TYPES.fullmatch(kind):
            raise ParseError(FORMAT, line_no, line, "the values are not integers")
        return None
    return KernelSetting(
        name=name,
        type=kind,
        configured=int(configured),
        runtime=int(runtime),
        default=int(default),
        description=fields[5].strip() if len(fields) > 5 else "",
    )


def find_aio_setting(text: str) -> KernelSetting | None:
    """The FDSNumAIOHandles row, or None when the host prints no such row (no fix there)."""
    return parse_kernel_list(text).get(AIO_SETTING)
