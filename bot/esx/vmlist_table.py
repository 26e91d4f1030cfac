"""`esxcli --formatter=csv vm process list` and `--formatter=json` (both reconstructed from
the field names of the XML form: read tolerantly).

CSV: a header of field names without spaces, every line ending in a comma:

    ConfigFile,DisplayName,ProcessID,UUID,VMXCartelID,WorldID,
    /vmfs/volumes/ds1/Gitlab/Gitlab.vmx,Gitlab,0,56 4d 48 08 ...,2099517,2099532,

JSON: a list of objects with the same keys (numbers or strings). An object with a key twice
is rejected, like a text block with a field twice.
"""

from __future__ import annotations

import csv
import json

from bot.errors import ParseError
from bot.esx.vmraw import RawVm, key

CSV_FORMAT = "esxcli --formatter=csv vm process list"
JSON_FORMAT = "esxcli --formatter=json vm process list"


def looks_like_csv(line: str) -> bool:
    names = {key(n) for n in line.split(",")}
    return {"worldid", "vmxcartelid"} <= names


def read_csv(lines: list[str], first_line: int) -> list[RawVm]:
    """Rows under the header at `lines[0]`, which is line `first_line` of the file."""
    rows = list(csv.reader(lines))
    header = [key(n) for n in rows[0]]
    raws = []
    for offset, row in enumerate(rows[1:], 1):
        if not any(cell.strip() for cell in row):
            continue
        raw = RawVm(first_line + offset)
        for name, cell in zip(header, row, strict=False):
            if name:
                raw.put(name, cell.strip())
        raws.append(raw)
    return raws


def read_json(text: str, first_line: int) -> list[RawVm]:
    try:
        data = json.loads(text, object_pairs_hook=_Pairs, parse_int=str, parse_float=str)
    except json.JSONDecodeError as err:
        raise ParseError(JSON_FORMAT, err.lineno + first_line - 1, "", err.msg) from err
    except RecursionError:
        raise ParseError(JSON_FORMAT, first_line, "", "nested too deeply") from None
    items = data if isinstance(data, list) else [data]
    raws = []
    for index, item in enumerate(items):
        if not isinstance(item, _Pairs):
            raise ParseError(JSON_FORMAT, first_line, "", "expected a list of objects")
        raw = RawVm(first_line, title=f"the VM at index {index}")
        for name, value in item:
            raw.put(name, "" if value is None else str(value))
        raw.title = raw.fields.get("displayname") or raw.title
        raws.append(raw)
    return raws


class _Pairs(list[tuple[str, object]]):
    """A JSON object kept as its key-value pairs, so that a key given twice is seen."""
