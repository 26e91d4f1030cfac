"""The text form of `esxcli vm process list`, as printed and as pasted.

    Gitlab
       World ID: 2099532
       Process ID: 0
       VMX Cartel ID: 2099517
       UUID: 56 4d 48 08 86 8b 8f 67-a5 4a 33 f3 87 a8 d0 59
       Display Name: Gitlab
       Config File: /vmfs/volumes/6107a9c3-0511c860-9122-fcaa144d4e7d/Gitlab/Gitlab.vmx

Also read: the fields flush left (Broadcom's KB articles print the list that way), a long
value wrapped onto the next line (a line flush left right after a field, not followed by a
World ID line, continues that field), prompt lines, CRLF/CR, a BOM, Unicode spaces, and no
blank line between blocks (a name line is followed by its World ID line).

When the capture has indented fields, only indented lines are fields; otherwise (KB style)
a line is a field when it starts with one of the six labels esxcli prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.esx.paste import PROMPT, is_prompt, plain_lines
from bot.esx.records import SkippedLine
from bot.esx.vmraw import LABELS, RawVm, key

_FIELD = re.compile(r"(?P<indent>\s*)(?P<label>[A-Za-z][A-Za-z ]*?)\s*:(?:\s(?P<value>.*)|$)")
NOT_A_FIELD = "an indented line that is not `Field: value`"
NO_NAME = "a field before any VM name"


@dataclass
class _Reader:
    lines: list[str]
    indented: bool
    blocks: list[RawVm] = field(default_factory=list)
    skipped: list[SkippedLine] = field(default_factory=list)
    last_field: str | None = None  # the field the previous line set, for wrapped values

    def field_of(self, line: str) -> tuple[str, str] | None:
        match = _FIELD.fullmatch(line)
        if not match or (self.indented and not match["indent"]):
            return None
        label = match["label"]
        if not self.indented and key(label) not in LABELS:
            return None
        return label, (match["value"] or "").strip()

    def next_is_world_id(self, index: int) -> bool:
        if index + 1 >= len(self.lines):
            return False
        found = self.field_of(self.lines[index + 1])
        return found is not None and key(found[0]) == "worldid"

    def read(self, index: int, line: str) -> None:
        line_no = index + 1
        if not line.strip():
            self.last_field = None
            return
        if is_prompt(line):
            self.skipped.append(SkippedLine(line_no, line, PROMPT))
            self.last_field = None
            return
        found = self.field_of(line)
        if found is not None:
            self._field(line_no, line, *found)
        elif line[0].isspace():
            self.skipped.append(SkippedLine(line_no, line, NOT_A_FIELD))
        elif self.last_field is not None and not self.next_is_world_id(index):
            block = self.blocks[-1]
            block.fields[self.last_field] += line.strip()  # a wrapped value
        else:
            self.blocks.append(RawVm(line_no, line.strip()))
            self.last_field = None

    def _field(self, line_no: int, line: str, label: str, value: str) -> None:
        if not self.blocks:
            self.skipped.append(SkippedLine(line_no, line, NO_NAME))
            return
        self.blocks[-1].put(label, value)
        self.last_field = key(label)


def read_text(text: str) -> tuple[list[RawVm], list[SkippedLine]]:
    """The blocks of the text form, and the lines that belong to none."""
    lines = plain_lines(text)
    indented = any(_indented_field(line) for line in lines)
    reader = _Reader(lines, indented)
    for index, line in enumerate(lines):
        reader.read(index, line)
    return reader.blocks, reader.skipped


def _indented_field(line: str) -> bool:
    match = _FIELD.fullmatch(line)
    return bool(match and match["indent"] and key(match["label"]) in LABELS)
