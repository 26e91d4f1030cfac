"""What a paste does to a capture, undone: line ends, a byte-order mark, Unicode spaces, and
the shell prompt with the command that an operator copies along with the output."""

from __future__ import annotations

import re

UNICODE_SPACES = "\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_UNICODE_SPACE = re.compile(f"[{UNICODE_SPACES}]")
_PROMPT = re.compile(
    r"\s*(?:\[[^\]]*@[^\]]*\]\s*[#$>]?|~\s*[#$>]|[\w.-]+[#$>]|[#$>])(?:\s|$)"
)


def split_lines(text: str) -> list[str]:
    """A capture's lines: at "\\n", or at "\\r" when it has no "\\n" at all; a final line end
    does not start another line."""
    end = "\n" if "\n" in text or "\r" not in text else "\r"
    lines = text.split(end)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def plain(line: str) -> str:
    """The line with Unicode spaces (and a BOM) as plain spaces and no trailing blanks."""
    return _UNICODE_SPACE.sub(" ", line).rstrip(" \t\r\v\f")


def plain_lines(text: str) -> list[str]:
    """The lines of `text` made plain; a byte-order mark at its start is dropped."""
    return [plain(line) for line in split_lines(text.removeprefix("\ufeff"))]


def is_prompt(line: str) -> bool:
    """A shell prompt, with or without the command typed after it (`[root@esx01:~] esxcli
    vm process list`, `~ # vmware -vl`, `esx01# ...`)."""
    return _PROMPT.match(_UNICODE_SPACE.sub(" ", line)) is not None


PROMPT = "a shell prompt or command line"
