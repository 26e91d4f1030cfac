"""A full read of a host in ONE SSH exec: the six read commands of `bot.esx.commandlines`
run one after another by one shell, each part's output between its own markers with its own
exit status, so the host starts one session and one shell instead of six.

The line is still fixed text plus validated integers: a random marker number (so no output
a host prints can fake a marker), the `since` timestamp of the vmkernel.log reduction, and the
per-part byte cap. It runs in POSIX sh, dash and busybox ash (ESXi's shell):

    {
      printf '\\n#aio:<n>:version\\n'; printf '#aio:<n>:version\\n' >&2
      esxcli system version get
      printf '\\n#aio:<n>:version:%d\\n' $?
      ...                       (the same for kernel, vms, lsof, vmkernel, hostd)
    } | awk <cap>               (a part past its cap keeps its first bytes and a `cut` line)

stdout carries each part as `\\n<begin>\\n<output>\\n<begin>:<status>\\n`; stderr carries
each part's begin marker before its errors, so an error is told for its part alone."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.esx import commandlines as cl

PART_CAP = 48 * 1024  # bytes one part may send; a cut part is reported, not parsed


@dataclass(frozen=True, slots=True)
class Part:
    """One read in the compound line. A `required` part that fails fails the host (as the
    single command did); any other failing part is reported on the host's report alone."""

    name: str
    command: str
    required: bool


def parts(since: datetime) -> tuple[Part, ...]:
    """The reads of a full report, in the order they run."""
    return (
        Part("version", cl.VERSION, True),
        Part("kernel", cl.KERNEL_AIO, False),
        Part("vms", cl.VM_LIST, True),
        Part("lsof", cl.LSOF_REDUCED, True),
        Part("vmkernel", cl.vmkernel_events(since), False),
        Part("hostd", cl.HOSTD_STARTS, False),
    )


def _tag(nonce: int) -> str:
    return f"#aio:{nonce}:"


def _cap_awk(tag: str, cap: int) -> str:
    """Pass marker lines; pass a part's lines while it is under `cap` bytes; then one `cut`
    line, and read the rest (so the part's command is not killed by SIGPIPE)."""
    return (f"awk 'index($0, \"{tag}\") == 1 {{ n = 0; c = 0; print; next }} "
            f"{{ n += length($0) + 1 }} n <= {cap} {{ print; next }} "
            f"!c++ {{ print \"{tag}cut\" }}'")


def command_line(part_list: Sequence[Part], nonce: int, cap: int = PART_CAP) -> str:
    """The one line for `part_list`; `nonce` and `cap` are checked integers."""
    if not isinstance(nonce, int) or not 0 < nonce < 1 << 63:
        raise ValueError(f"bad marker number {nonce!r}")
    if not isinstance(cap, int) or not 1024 <= cap <= 1 << 24:
        raise ValueError(f"bad part cap {cap!r}")
    tag = _tag(nonce)
    body = " ".join(
        f"printf '\\n{tag}{p.name}\\n'; printf '{tag}{p.name}\\n' >&2; {p.command}; "
        f"printf '\\n{tag}{p.name}:%d\\n' $?;"
        for p in part_list
    )
    return f"{{ {body} }} | {_cap_awk(tag, cap)}"


def new_nonce() -> int:
    return secrets.randbits(62) + 1


@dataclass(frozen=True, slots=True)
class PartOutput:
    """What one part printed. `status` is None when its end marker never came (the shell
    died, or the output stopped); `cut` when it passed the cap and only its start arrived."""

    part: Part
    stdout: str
    stderr: str
    status: int | None
    cut: bool = False

    @property
    def ok(self) -> bool:
        return self.status == 0 and not self.cut

    def why(self) -> str:
        """One sentence: why this part is not usable."""
        if self.cut:
            return f"`{self.part.command}` printed more than the cap; its output was cut"
        if self.status is None:
            return f"`{self.part.command}` did not finish"
        detail = " ".join(self.stderr.split())[:200]
        return (f"`{self.part.command}` exited with status {self.status}"
                + (f": {detail}" if detail else ""))


def split_output(part_list: Sequence[Part], nonce: int, stdout: str,
                 stderr: str) -> list[PartOutput]:
    """The compound line's output, back in parts (in `part_list` order)."""
    tag = _tag(nonce)
    errs = _stderr_parts(tag, stderr)
    marks = [(m.start(), m.end() + 1, m.group(1), m.group(2)) for m in
             re.finditer(re.escape("\n" + tag) + r"([a-z]+)(?::(\d+))?(?=\n)", stdout)]
    found: dict[str, PartOutput] = {}
    i = 0
    while i < len(marks):
        _, text_from, name, status = marks[i]
        i += 1
        part = next((p for p in part_list if p.name == name), None)
        if part is None or status is not None:
            continue  # a stray end or cut line: nothing to attach it to
        cut_at: int | None = None
        if i < len(marks) and marks[i][2] == "cut":
            cut_at = marks[i][0]
            i += 1
        end = marks[i] if i < len(marks) else None
        text_to = cut_at if cut_at is not None else (end[0] if end else len(stdout))
        if cut_at is None and text_to == text_from - 1:
            text_to = text_from  # nothing printed: the end marker follows at once
        code: int | None = None
        if end is not None and end[2] == name and end[3] is not None:
            code = int(end[3])
            i += 1
        found[name] = PartOutput(part, stdout[text_from:text_to], errs.get(name, ""), code,
                                 cut_at is not None)
    return [found.get(p.name) or PartOutput(p, "", errs.get(p.name, ""), None)
            for p in part_list]


def _stderr_parts(tag: str, stderr: str) -> dict[str, str]:
    out: dict[str, list[str]] = {}
    current: str | None = None
    for line in stderr.splitlines(keepends=True):
        if line.startswith(tag) and line.rstrip("\n")[len(tag):].isidentifier():
            current = line.rstrip("\n")[len(tag):]
            out.setdefault(current, [])
        elif current is not None:
            out[current].append(line)
    return {name: "".join(lines) for name, lines in out.items()}


_LINE = re.compile(r"\{ printf '\\n#aio:(\d+):version\\n'.*")
_SINCE = re.compile(r"awk -v since=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d) ")


def is_full_read(line: str) -> bool:
    """The line is exactly one that `command_line(parts(...))` builds (for the tests that
    check every line a host receives)."""
    m, s = _LINE.fullmatch(line), _SINCE.search(line)
    if m is None or s is None:
        return False
    since = datetime.fromisoformat(s.group(1) + "+00:00")
    return line == command_line(parts(since), int(m.group(1)))
