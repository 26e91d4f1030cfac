"""Pick the renderer for `--format`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from bot.console.jsonview import to_dict
from bot.console.table import render

if TYPE_CHECKING:  # an annotation only: commands.results imports remediation, history, store
    from commands.results import Result

FORMATS = ("table", "json")


def emit(result: Result, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(to_dict(result), indent=2, ensure_ascii=False)
    return render(result)
