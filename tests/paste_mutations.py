"""What a paste does to a capture, as hypothesis strategies: a prompt and command line first
or last, CRLF or CR line ends, a byte-order mark, Unicode spaces in place of spaces, blank
lines, and cuts (the last line, or one line in the middle, losing its end).

`cut` changes what the KB pipeline sees (its reference is the capture as cut); the others
must not change any count (their reference is the clean capture)."""

from __future__ import annotations

from hypothesis import strategies as st

PROMPTS = ["[root@esx01:~] vmkvsitools lsof", "[root@esx01:~] ",
           "~ # vmkvsitools lsof | grep vmgfx", "esx01# lsof"]
UNICODE_SPACES = ["\u00a0", "\u202f", "\u2007", "\u3000", "\u2009", "\ufeff"]


@st.composite
def cuts(draw: st.DrawFn, text: str) -> str:
    """`text` with its last line, or one line in the middle, cut short."""
    lines = text.split("\n")
    if len(lines) < 2 or not draw(st.booleans()):
        return text
    index = draw(st.integers(0, len(lines) - 1))
    line = lines[index]
    lines[index] = line[: draw(st.integers(0, len(line)))]
    if index == len(lines) - 1 or draw(st.booleans()):
        return "\n".join(lines[: index + 1])  # the copy stopped there
    return "\n".join(lines)


@st.composite
def pasted(draw: st.DrawFn, text: str) -> str:
    """`text` as a terminal, a chat or a Windows tool hands it over; counts unchanged."""
    lines = text.split("\n")
    if draw(st.booleans()):
        lines.insert(0, draw(st.sampled_from(PROMPTS)))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(lines)))
        lines.insert(at, draw(st.sampled_from(["", "   ", "\u00a0"])))
    body = "\n".join(lines)
    if draw(st.booleans()):
        body += "\n" + draw(st.sampled_from(PROMPTS))
    if draw(st.booleans()):
        body = _respace(draw, body)
    ends = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    if ends == "\r" and ("\r" in body or "\n" not in body):
        ends = "\r\n"  # CR-only ends are read as such only where no \r was in the capture
    body = body.replace("\n", ends)
    if draw(st.booleans()):
        body = "\ufeff" + body
    return body


def _respace(draw: st.DrawFn, body: str) -> str:
    """Some spaces replaced by Unicode spaces (as chat and ticket systems do)."""
    chars = list(body)
    spaces = [i for i, c in enumerate(chars) if c == " "]
    if not spaces:
        return body
    for i in draw(st.lists(st.sampled_from(spaces), max_size=8)):
        chars[i] = draw(st.sampled_from(UNICODE_SPACES))
    return "".join(chars)
