"""How one line of `vmkvsitools lsof` counts: the rules every lsof counter here follows.

Input format (one open file per line, columns padded with runs of spaces or tabs):

    Cartel | World name | Type | fd | Description
    -------------------------------------------------
    2099517   vmx                 CHAR      63    /vmfs/devices/char/vmgfx/vmgfx0

The counts are those of KB 408376's pipeline as ESXi runs it (busybox awk) on the capture
before it was pasted, re-encoded or cut:

- a line ends at "\\n"; a capture with no "\\n" at all but with "\\r" (old Mac endings) ends
  its lines at "\\r";
- fields are split on runs of what busybox awk calls space (space, tab, \\r, \\v, \\f: so a
  CRLF capture counts like the clean one) and of the Unicode spaces chat and ticket systems
  paste in (no-break spaces U+00A0, U+202F, U+2000-U+200A, U+1680, U+205F, U+3000, the line
  and paragraph separators U+2028/9, and the byte-order mark U+FEFF);
- blank lines, header lines (first field `Cartel`) and separator lines (only `-=|+` and
  spaces) are part of the format and skipped;
- a line whose first field is not a canonical decimal cartel ID (`0`, or 1 to 18 digits
  without a leading zero), or that has fewer than 3 fields, is not counted: it is reported
  (`skipped`, the first 20 and a total): a shell prompt, a command echo, a cut line;
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

from bot.esx.paste import UNICODE_SPACES
from bot.esx.records import CartelHandles, LsofSummary, SkippedLine

FORMAT = "vmkvsitools lsof"
MAX_DIGITS = 18  # cartel IDs and counts; more is junk (and int() refuses > 4300 digits)
MAX_SHOWN = 20  # skipped lines kept with their text; the rest are only counted
MAX_TEXT = 200  # characters of a skipped line kept
CANONICAL = re.compile(rf"0|[1-9][0-9]{{0,{MAX_DIGITS - 1}}}")
FEW_FIELDS = "fewer than 3 fields"
NOT_A_CARTEL = "the first field is not a cartel ID"
PROMPT = "a shell prompt or command line"
_BLANKS = re.compile(f"[ \t\r\v\f{UNICODE_SPACES}]+")
_SEPARATOR = re.compile(f"[-=|+ \t\r\v\f{UNICODE_SPACES}]+")
_PROMPT = re.compile(r"\s*(?:\[[^\]]*\]\s*[#$>]?|[~/][\w/.~-]*\s*[#$>]|\S*[#$>])(?:\s|$)|"
                     r".*\b(?:vmkvsitools|lsof)\b.*\|")


@dataclass
class Tally:
    """Running counts while reading; `summary()` freezes them. Keys are the fields' text."""

    types: Counter[str] = field(default_factory=Counter)
    chars: Counter[str] = field(default_factory=Counter)
    vmgfx: Counter[str] = field(default_factory=Counter)
    lines: int = 0
    skipped: list[SkippedLine] = field(default_factory=list)
    skipped_total: int = 0

    def plus(self, other: Tally) -> Tally:
        """Counts of this part of a file followed by `other` (whose line numbers count from
        the start of its own part)."""
        moved = [SkippedLine(s.line_no + self.lines, s.text, s.why) for s in other.skipped]
        return Tally(
            self.types + other.types,
            self.chars + other.chars,
            self.vmgfx + other.vmgfx,
            self.lines + other.lines,
            (self.skipped + moved)[:MAX_SHOWN],
            self.skipped_total + other.skipped_total,
        )

    def skip(self, line_no: int, line: str, why: str) -> None:
        self.skipped_total += 1
        if len(self.skipped) < MAX_SHOWN:
            text = line[:MAX_TEXT]
            self.skipped.append(SkippedLine(line_no, text, reason(text, why)))

    def summary(self) -> LsofSummary:
        cartels = {
            int(k): CartelHandles(int(k), n, self.vmgfx.get(k, 0)) for k, n in self.chars.items()
        }
        return LsofSummary(cartels=cartels, types=dict(self.types), lines=self.lines,
                           skipped=tuple(self.skipped), skipped_total=self.skipped_total)


def reason(line: str, why: str) -> str:
    """Why a line was skipped, in words: a prompt or command line is named as such."""
    return PROMPT if _PROMPT.match(_BLANKS.sub(" ", line)) else why


def awk_fields(line: str) -> list[str]:
    """Split `line` like busybox awk's default FS, plus the Unicode spaces of a paste."""
    return [f for f in _BLANKS.split(line) if f]


def count_line(tally: Tally, line_no: int, line: str) -> None:
    """Apply the rules to one line (without its line end)."""
    fields = awk_fields(line)
    if not fields or fields[0] == "Cartel" or _SEPARATOR.fullmatch(line):
        return
    if len(fields) < 3:
        tally.skip(line_no, line, FEW_FIELDS)
        return
    if not CANONICAL.fullmatch(fields[0]):
        tally.skip(line_no, line, NOT_A_CARTEL)
        return
    cartel, world, kind = fields[0], fields[1], fields[2]
    tally.types[kind] += 1
    if kind == "CHAR":
        tally.chars[cartel] += 1
        if world == "vmx" and "vmgfx" in line:
            tally.vmgfx[cartel] += 1
