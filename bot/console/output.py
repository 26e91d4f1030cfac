"""Pick the renderer for `--format`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from bot.console.jsonview import to_dict
from bot.console.table import render
from commands.host_results import ScanResult

if TYPE_CHECKING:  # an annotation only: commands.results imports remediation, history, store
    from commands.results import Result

FORMATS = ("table", "json")


def emit(result: Result, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(to_dict(result), indent=2, ensure_ascii=False)
    return render(result)


def print_result(result: Result, fmt: str) -> int:
    """Print `result` as `fmt`; the exit status: 1 when a scan missed hosts, 2 when a change
    waits for `confirm`."""
    print(emit(result, fmt))
    if isinstance(result, ScanResult) and result.failures:
        return 1
    return 2 if type(result).__name__ == "ConfirmResult" else 0  # waits for `confirm`
