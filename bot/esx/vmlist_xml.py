"""`esxcli --formatter=xml vm process list`: `<structure typeName="VirtualMachine">` elements
holding `<field name="WorldID"><integer>..</integer></field>` and so on, in the esxcli
namespace. Any DOCTYPE or ENTITY declaration is refused (no entity expansion can happen);
namespaces are ignored; a structure with a field twice is rejected (see `bot.esx.vmraw`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.errors import ParseError
from bot.esx.vmraw import RawVm

if TYPE_CHECKING:  # imported when XML is parsed: most captures are text (`aio-bot analyze`)
    import xml.etree.ElementTree as ET

XML_FORMAT = "esxcli --formatter=xml vm process list"
_DOCTYPE = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_STRUCTURE_TAG = re.compile(r"<(?:[\w.-]+:)?structure\b")


def read_xml(text: str, first_line: int = 1) -> list[RawVm]:
    """The VirtualMachine structures; `first_line` is the line `text` starts at in the file.
    Raises ParseError for a DOCTYPE or XML that is not well-formed."""
    doctype = _DOCTYPE.search(text)
    if doctype:
        line_no = text.count("\n", 0, doctype.start()) + 1
        raise ParseError(XML_FORMAT, line_no + first_line - 1, _line(text, line_no),
                         "DOCTYPE is not allowed")
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(text.lstrip("\ufeff").strip())  # noqa: S314 - see above
    except ET.ParseError as err:
        line_no = err.position[0]
        raise ParseError(XML_FORMAT, line_no + first_line - 1, _line(text, line_no),
                         "not well-formed XML") from err
    structures = [e for e in root.iter() if _local(e.tag) == "structure"]
    positions = [m.start() for m in _STRUCTURE_TAG.finditer(text)]
    raws = []
    for index, element in enumerate(structures):
        if element.get("typeName", "VirtualMachine") != "VirtualMachine":
            continue
        offset = positions[index] if index < len(positions) else 0
        raws.append(_raw(element, text.count("\n", 0, offset) + first_line))
    return raws


def _raw(element: ET.Element, line_no: int) -> RawVm:
    raw = RawVm(line_no)
    for child in element:
        if _local(child.tag) == "field":
            value = (child[0].text or "").strip() if len(child) else ""
            raw.put(child.get("name", ""), value)
    return raw


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _line(text: str, line_no: int) -> str:
    lines = text.split("\n")
    return lines[line_no - 1] if 0 < line_no <= len(lines) else ""
