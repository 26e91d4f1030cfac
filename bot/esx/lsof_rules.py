"""How one line of `vmkvsitools lsof` counts: the rules every lsof counter here follows.

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

`count_line` is the reference; the file counters (`bot.esx.lsof_fast`, and the C module
`bot.esx._lsofcount` through `bot.esx.lsof_native`) give the same answers, faster.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from bot.errors import ParseError
from bot.esx.records import CartelHandles, LsofSummary

FORMAT = "vmkvsitools lsof"
MAX_DIGITS = 18  # cartel IDs and counts; more is junk (and int() refuses > 4300 digits)
CANONICAL = re.compile(rf"0|[1-9][0-9]{{0,{MAX_DIGITS - 1}}}")
FEW_FIELDS = "fewer than 3 fields"
NOT_A_CARTEL = "the first field is not a cartel ID"
_SEPARATOR = re.compile(r"[-=|+ \t]+")


@dataclass
class Tally:
    """Running counts while reading; `summary()` freezes them. Keys are the fields' text."""

    types: Counter[str] = field(default_factory=Counter)
    chars: Counter[str] = field(default_factory=Counter)
    vmgfx: Counter[str] = field(default_factory=Counter)
    lines: int = 0

    def plus(self, other: Tally) -> Tally:
        """Counts of this part of a file followed by `other`."""
        return Tally(
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


def count_line(tally: Tally, line_no: int, line: str) -> None:
    """Apply LSOF_AWK to one line (without its newline); raise on an unreadable line."""
    fields = awk_fields(line)
    if not fields or fields[0] == "Cartel" or _SEPARATOR.fullmatch(line):
        return
    if len(fields) < 3:
        raise ParseError(FORMAT, line_no, line, FEW_FIELDS)
    if not CANONICAL.fullmatch(fields[0]):
        raise ParseError(FORMAT, line_no, line, NOT_A_CARTEL)
    cartel, world, kind = fields[0], fields[1], fields[2]
    tally.types[kind] += 1
    if kind == "CHAR":
        tally.chars[cartel] += 1
        if world == "vmx" and "vmgfx" in line:
            tally.vmgfx[cartel] += 1
