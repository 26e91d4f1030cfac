"""Parse `esxcli vm process list` (running VMs) in every form an operator hands over: text
(indented, or flush left as Broadcom's KB articles print it; see `bot.esx.vmlist_text`), XML
(`bot.esx.vmlist_xml`), CSV and JSON (`bot.esx.vmlist_table`); with prompt lines, CRLF, a BOM
and Unicode spaces.

Display Name wins over a text block's first line when they differ (both are kept). A block
that says a field twice, or that claims another block's World ID, VMX Cartel ID or UUID, is
rejected and reported (`bot.esx.vmraw`): a VM name cannot forge another VM's identity.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.esx.paste import PROMPT, is_prompt, plain, split_lines
from bot.esx.records import SkippedLine, VmProcess
from bot.esx.vmlist_table import CSV_FORMAT, looks_like_csv, read_csv, read_json
from bot.esx.vmlist_text import read_text
from bot.esx.vmlist_xml import XML_FORMAT, read_xml
from bot.esx.vmraw import RawVm, checked

FORMAT = "esxcli vm process list"
__all__ = ["CSV_FORMAT", "FORMAT", "XML_FORMAT", "VmList", "parse_vm_list",
           "parse_vm_process_list", "parse_vm_process_list_xml", "read_vm_list"]


@dataclass(frozen=True, slots=True)
class VmList:
    """The VMs that could be identified, and the lines or blocks that were not used."""

    vms: list[VmProcess]
    skipped: list[SkippedLine]


def read_vm_list(text: str) -> VmList:
    """Any form, detected from the first line that is not blank or a prompt. Raises
    ParseError only for XML or JSON that cannot be read at all."""
    lines = split_lines(text)
    prompts = [SkippedLine(i, line, PROMPT) for i, line in enumerate(lines, 1)
               if is_prompt(line)]
    start = next((i for i, line in enumerate(lines)
                  if plain(line).strip() and not is_prompt(line)), len(lines))
    first = plain(lines[start]).strip() if start < len(lines) else ""
    body = lines[start:]
    raws: list[RawVm]
    if first.startswith("<"):
        raws, skipped = read_xml("\n".join(_until_prompt(body)), start + 1), prompts
    elif first.startswith(("[", "{")):
        raws, skipped = read_json("\n".join(_until_prompt(body)), start + 1), prompts
    elif looks_like_csv(first):
        raws = read_csv([plain(x) for x in body if not is_prompt(x)], start + 1)
        skipped = prompts
    else:
        raws, skipped = read_text(text)
    vms, rejected = checked(raws)
    return VmList(vms, sorted(skipped + rejected, key=lambda s: s.line_no))


def _until_prompt(lines: list[str]) -> list[str]:
    """A structured document ends where the next prompt starts."""
    end = next((i for i, line in enumerate(lines) if is_prompt(line)), len(lines))
    return lines[:end]


def parse_vm_list(text: str) -> list[VmProcess]:
    """The VMs of any form; what was not used is logged (collectors read the host's own
    output, where nothing should be)."""
    found = read_vm_list(text)
    if found.skipped:
        _log_skipped(found.skipped)
    return found.vms


LOGGED_SKIPS = 5  # lines named one by one; the rest are counted (junk must not flood the log)


def _log_skipped(skipped: list[SkippedLine]) -> None:
    import logging  # rarely needed; `aio-bot analyze` does not import it for this

    log = logging.getLogger(__name__)
    for skip in skipped[:LOGGED_SKIPS]:
        log.warning("vm process list line %d not used (%s): %.80r", skip.line_no, skip.why,
                    skip.text)
    if len(skipped) > LOGGED_SKIPS:
        log.warning("vm process list: %d more line(s) not used, the last at line %d",
                    len(skipped) - LOGGED_SKIPS, skipped[-1].line_no)


def parse_vm_process_list(text: str) -> list[VmProcess]:
    """The text form (see `bot.esx.vmlist_text`)."""
    raws, _ = read_text(text)
    return checked(raws)[0]


def parse_vm_process_list_xml(text: str) -> list[VmProcess]:
    """The XML form; raises ParseError for a DOCTYPE or XML that is not well-formed."""
    return checked(read_xml(text))[0]


