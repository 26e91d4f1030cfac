"""Parse `esxcli vm process list` (running VMs), in the text and the XML formats.

Text format: one block per VM, the name flush left, fields indented, a blank line between
blocks:

    Gitlab
       World ID: 2099532
       Process ID: 0
       VMX Cartel ID: 2099517
       UUID: 56 4d 48 08 86 8b 8f 67-a5 4a 33 f3 87 a8 d0 59
       Display Name: Gitlab
       Config File: /vmfs/volumes/6107a9c3-0511c860-9122-fcaa144d4e7d/Gitlab/Gitlab.vmx

XML format (`esxcli --formatter=xml vm process list`): `<structure typeName="VirtualMachine">`
elements holding `<field name="WorldID"><integer>..</integer></field>` and so on, in the
esxcli namespace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.errors import ParseError
from bot.esx.records import VmProcess

if TYPE_CHECKING:  # imported when XML is parsed: most captures are text (`aio-bot analyze`)
    import xml.etree.ElementTree as ET

FORMAT = "esxcli vm process list"
XML_FORMAT = "esxcli --formatter=xml vm process list"

_INTEGER = re.compile(r"[0-9]{1,18}")
_DOCTYPE = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_STRUCTURE_TAG = re.compile(r"<(?:[\w.-]+:)?structure\b")


@dataclass
class _Block:
    name: str
    line_no: int
    fields: dict[str, tuple[int, str]] = field(default_factory=dict)


def _key(label: str) -> str:
    """`VMX Cartel ID` and `VMXCartelID` both become `vmxcartelid`."""
    return "".join(label.split()).lower()


def parse_vm_process_list(text: str) -> list[VmProcess]:
    """Parse the default text format; tolerates CRLF, extra indentation, unknown fields and a
    missing final blank line. Raises ParseError naming the line of a block without World ID
    or VMX Cartel ID, or of a field line that is not `Name: value`."""
    return [_vm_from_block(b) for b in _blocks(text)]


def _blocks(text: str) -> list[_Block]:
    blocks: list[_Block] = []
    for line_no, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        if not line[0].isspace():
            blocks.append(_Block(line.rstrip(), line_no))
            continue
        label, colon, value = line.strip().partition(":")
        if not blocks:
            raise ParseError(FORMAT, line_no, line, "a field before any VM name")
        if not colon or not label.strip():
            raise ParseError(FORMAT, line_no, line, "expected `Field: value`")
        blocks[-1].fields[_key(label)] = (line_no, value.strip())
    return blocks


def _vm_from_block(block: _Block) -> VmProcess:
    def number(key: str, label: str, required: bool) -> int | None:
        if key not in block.fields:
            if required:
                raise ParseError(FORMAT, block.line_no, block.name, f"the VM has no {label}")
            return None
        line_no, value = block.fields[key]
        if not _INTEGER.fullmatch(value):
            raise ParseError(FORMAT, line_no, value, f"{label} is not a number")
        return int(value)

    def text(key: str) -> str | None:
        return block.fields[key][1] if key in block.fields else None

    world = number("worldid", "World ID", True)
    cartel = number("vmxcartelid", "VMX Cartel ID", True)
    assert world is not None and cartel is not None
    return VmProcess(
        name=block.name,
        world_id=world,
        cartel_id=cartel,
        process_id=number("processid", "Process ID", False),
        uuid=text("uuid"),
        config_file=text("configfile"),
    )


def parse_vm_process_list_xml(text: str) -> list[VmProcess]:
    """Parse `esxcli --formatter=xml vm process list`. Refuses any DOCTYPE or ENTITY
    declaration (so no entity expansion can happen); namespaces are ignored."""
    doctype = _DOCTYPE.search(text)
    if doctype:
        line_no = text.count("\n", 0, doctype.start()) + 1
        raise ParseError(XML_FORMAT, line_no, _line(text, line_no), "DOCTYPE is not allowed")
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(text.lstrip("\ufeff").strip())  # noqa: S314 - see above
    except ET.ParseError as err:
        line_no = err.position[0]
        raise ParseError(XML_FORMAT, line_no, _line(text, line_no), "not well-formed XML") from err
    structures = [e for e in root.iter() if _local(e.tag) == "structure"]
    positions = [m.start() for m in _STRUCTURE_TAG.finditer(text)]
    vms = []
    for index, element in enumerate(structures):
        if element.get("typeName", "VirtualMachine") != "VirtualMachine":
            continue
        offset = positions[index] if index < len(positions) else 0
        vms.append(_vm_from_xml(element, text.count("\n", 0, offset) + 1, text))
    return vms


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _line(text: str, line_no: int) -> str:
    lines = text.split("\n")
    return lines[line_no - 1] if 0 < line_no <= len(lines) else ""


def _vm_from_xml(element: ET.Element, line_no: int, text: str) -> VmProcess:
    values: dict[str, str] = {}
    for child in element:
        if _local(child.tag) == "field" and len(child):
            values[_key(child.get("name", ""))] = (child[0].text or "").strip()

    def number(key: str, label: str) -> int | None:
        value = values.get(key)
        if value is None:
            return None
        if not _INTEGER.fullmatch(value):
            raise ParseError(XML_FORMAT, line_no, _line(text, line_no), f"{label} is not a number")
        return int(value)

    world, cartel = number("worldid", "WorldID"), number("vmxcartelid", "VMXCartelID")
    if world is None or cartel is None:
        missing = "WorldID" if world is None else "VMXCartelID"
        raise ParseError(XML_FORMAT, line_no, _line(text, line_no), f"the VM has no {missing}")
    return VmProcess(
        name=values.get("displayname", ""),
        world_id=world,
        cartel_id=cartel,
        process_id=number("processid", "ProcessID"),
        uuid=values.get("uuid"),
        config_file=values.get("configfile"),
    )


def parse_vm_list(text: str) -> list[VmProcess]:
    """Either format: XML when the output starts with `<`, text otherwise."""
    if text.lstrip("\ufeff \t\r\n").startswith("<"):
        return parse_vm_process_list_xml(text)
    return parse_vm_process_list(text)
