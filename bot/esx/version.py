"""Parse the ESXi version, from any of three commands.

`esxcli system version get`:

       Product: VMware ESXi
       Version: 8.0.3
       Build: Releasebuild-25205845
       Update: 3
       Patch: 95

`esxcli --formatter=json system version get`:
`{"Build": "Releasebuild-25205845", "Patch": "95", "Product": "VMware ESXi", "Update": "3",
"Version": "8.0.3"}`

`vmware -vl`:

    VMware ESXi 8.0.3 build-25205845
    VMware ESXi 8.0 Update 3
"""

from __future__ import annotations

import json
import re

from bot.errors import ParseError
from bot.esx.paste import is_prompt, plain_lines
from bot.esx.records import EsxVersion

FORMAT = "esxcli system version get"
JSON_FORMAT = "esxcli --formatter=json system version get"
VL_FORMAT = "vmware -vl"

_BUILD = re.compile(r"(?:[A-Za-z]*build-)?([0-9]{1,18})", re.IGNORECASE)
_VERSION = re.compile(r"[0-9]+(?:\.[0-9]+)*")
_VL_FIRST = re.compile(
    r"(?P<product>.+?)\s+(?P<version>[0-9]+(?:\.[0-9]+)+)\s+build-(?P<build>[0-9]{1,18})"
)
_VL_UPDATE = re.compile(r".*?\bUpdate\s+(?P<update>[0-9]+)\b.*", re.IGNORECASE)


def _build_number(value: str, line_no: int, line: str, fmt: str) -> int:
    match = _BUILD.fullmatch(value.strip())
    if not match:
        raise ParseError(fmt, line_no, line, "the build is not a number")
    return int(match.group(1))


def _checked_version(value: str, line_no: int, line: str, fmt: str) -> str:
    if not _VERSION.fullmatch(value):
        raise ParseError(fmt, line_no, line, "the version is not like 8.0.3")
    return value


def parse_version_get(text: str) -> EsxVersion:
    """`esxcli system version get`; Product, Version and Build are required."""
    fields: dict[str, tuple[int, str, str]] = {}
    for line_no, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        label, colon, value = line.partition(":")
        if not colon:
            raise ParseError(FORMAT, line_no, line, "expected `Field: value`")
        fields[label.strip().lower()] = (line_no, line, value.strip())
    for required in ("product", "version", "build"):
        if required not in fields:
            last = len(text.split("\n"))
            raise ParseError(FORMAT, last, "", f"no {required.capitalize()} line")
    v_no, v_line, version = fields["version"]
    b_no, b_line, build = fields["build"]
    return EsxVersion(
        product=fields["product"][2],
        version=_checked_version(version, v_no, v_line, FORMAT),
        build=_build_number(build, b_no, b_line, FORMAT),
        update=fields["update"][2] if "update" in fields else None,
        patch=fields["patch"][2] if "patch" in fields else None,
    )


def parse_version_json(text: str) -> EsxVersion:
    """The JSON formatter's object (keys in any case; values strings or numbers)."""
    try:
        data = json.loads(text, parse_int=str)  # numbers stay digits: no int() size limit
    except json.JSONDecodeError as err:
        raise ParseError(JSON_FORMAT, err.lineno, _line(text, err.lineno), err.msg) from err
    except RecursionError:
        raise ParseError(JSON_FORMAT, 1, _line(text, 1), "nested too deeply") from None
    if not isinstance(data, dict):
        raise ParseError(JSON_FORMAT, 1, _line(text, 1), "expected a JSON object")
    fields = {str(k).lower(): str(v) for k, v in data.items() if v is not None}
    for required in ("product", "version", "build"):
        if required not in fields:
            raise ParseError(JSON_FORMAT, 1, _line(text, 1), f"no {required.capitalize()} key")
    line = _line(text, 1)
    return EsxVersion(
        product=fields["product"],
        version=_checked_version(fields["version"], 1, line, JSON_FORMAT),
        build=_build_number(fields["build"], 1, line, JSON_FORMAT),
        update=fields.get("update"),
        patch=fields.get("patch"),
    )


def parse_vmware_vl(text: str) -> EsxVersion:
    """`vmware -vl` (or `vmware -v`, first line only); the update number comes from the
    second line when it says `Update N`."""
    lines = [(n, ln.rstrip("\r").strip()) for n, ln in enumerate(text.split("\n"), 1)]
    lines = [(n, ln) for n, ln in lines if ln]
    if not lines:
        raise ParseError(VL_FORMAT, 1, "", "no output")
    line_no, first = lines[0]
    match = _VL_FIRST.fullmatch(first)
    if not match:
        raise ParseError(VL_FORMAT, line_no, first, "expected `VMware ESXi 8.0.3 build-NNN`")
    update = None
    if len(lines) > 1 and (found := _VL_UPDATE.fullmatch(lines[1][1])):
        update = found.group("update")
    return EsxVersion(
        product=match.group("product"),
        version=match.group("version"),
        build=int(match.group("build")),
        update=update,
    )


def parse_version(text: str) -> EsxVersion:
    """Any of the three formats, detected from the text; prompt lines, CRLF or CR line ends,
    a BOM and Unicode spaces of a paste are dropped first (line numbers stay those of the
    capture: a dropped line becomes blank)."""
    text = "\n".join("" if is_prompt(line) else line for line in plain_lines(text))
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("{"):
        return parse_version_json(text)
    first = stripped.split("\n", 1)[0].strip()
    if _VL_FIRST.fullmatch(first):
        return parse_vmware_vl(text)
    return parse_version_get(text)


def _line(text: str, line_no: int) -> str:
    lines = text.split("\n")
    return lines[line_no - 1] if 0 < line_no <= len(lines) else ""
