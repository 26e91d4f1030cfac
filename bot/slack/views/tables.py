"""Native `table` blocks (at most 100 rows, header included) and CSV files for the rest."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    RawNumberObject,
    RawTextObject,
    TableBlock,
    TableBlockColumnSettings,
)

from bot.slack.limits import TABLE_ROWS_MAX

MAX_ROWS = TABLE_ROWS_MAX  # Slack's limit, the header row included
MAX_DATA_ROWS = MAX_ROWS - 1

Cell = str | int


def table_block(headers: Sequence[str], rows: Sequence[Sequence[Cell]],
                right: frozenset[int] = frozenset()) -> TableBlock:
    """A table of the first MAX_DATA_ROWS rows; int cells are numbers, aligned right."""
    body = [[_cell(c) for c in row] for row in rows[:MAX_DATA_ROWS]]
    settings = [TableBlockColumnSettings(align="right") if i in right else None
                for i in range(len(headers))]
    return TableBlock(rows=[[RawTextObject(text=h) for h in headers], *body],
                      column_settings=settings)


def _cell(value: Cell) -> RawTextObject | RawNumberObject:
    if isinstance(value, int):
        return RawNumberObject(value=value, text=f"{value:,}")
    return RawTextObject(text=value or "-")


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(["" if c is None else c for c in row] for row in rows)
    return out.getvalue()
