"""Offline Block Kit checks: what Slack would reject (`invalid_blocks`) or cut, caught before
a message is sent.

`check_message` returns one line per problem, each naming where it is
(`blocks[2].elements[0].text: 80 chars, limit 75`); `assert_valid` raises them as a
`BlockLimitError`. Dict blocks go to Slack unchecked (only slack_sdk's model classes validate),
so the app runs every message through `assert_valid` first.

Limits are Slack's documented ones (see /work/shared/slack-reference.md and the Block Kit
reference), plus two house rules that are stricter than Slack: `action_id`s are unique in the
whole message (Slack only asks for uniqueness within a block) so that one action handler can
never be reached from two places, and empty texts are refused everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, TypeGuard

Surface = Literal["message", "modal", "home"]
Block = Mapping[str, Any]
Checker = Callable[[Block, str], Iterator[str]]

MAX_BLOCKS: dict[str, int] = {"message": 50, "modal": 100, "home": 100}
TEXT_HARD_LIMIT = 40_000  # Slack cuts the message text beyond this
TEXT_SOFT_LIMIT = 4_000  # Slack advises staying under this; a warning, not an error
BLOCK_ID_LIMIT = 255
ACTION_ID_LIMIT = 255
SECTION_TEXT_LIMIT = 3_000
SECTION_FIELDS_MAX = 10
SECTION_FIELD_LIMIT = 2_000
HEADER_TEXT_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2_000
URL_LIMIT = 3_000
ACTIONS_ELEMENTS_MAX = 25
CONTEXT_ELEMENTS_MAX = 10
TABLE_ROWS_MAX = 100
TABLE_CELLS_MAX = 20
TABLE_COLUMN_SETTINGS_MAX = 20
TABLES_PER_MESSAGE = 1  # Slack answers `only_one_table_allowed`
MARKDOWN_TOTAL_LIMIT = 12_000  # cumulative over all markdown blocks of one payload
CONFIRM_LIMITS = {"title": 100, "text": 300, "confirm": 30, "deny": 30}
BUTTON_STYLES = frozenset({"primary", "danger"})
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
TEXT_KEYS = frozenset({"type", "text", "emoji", "verbatim"})

_COMMON = frozenset({"type", "block_id"})
BLOCK_KEYS: dict[str, frozenset[str]] = {
    "section": _COMMON | {"text", "fields", "accessory", "expand"},
    "header": _COMMON | {"text"},
    "divider": _COMMON,
    "context": _COMMON | {"elements"},
    "actions": _COMMON | {"elements"},
    "image": _COMMON | {"image_url", "slack_file", "alt_text", "title"},
    "table": _COMMON | {"rows", "column_settings"},
    "rich_text": _COMMON | {"elements"},
    "input": _COMMON | {"label", "element", "dispatch_action", "hint", "optional"},
    "file": _COMMON | {"external_id", "source"},
    "video": _COMMON
    | {
        "alt_text",
        "author_name",
        "description",
        "provider_icon_url",
        "provider_name",
        "title",
        "title_url",
        "thumbnail_url",
        "video_url",
    },
    "markdown": _COMMON | {"text"},
}

BUTTON_KEYS = frozenset(
    {"type", "text", "action_id", "url", "value", "style", "confirm", "accessibility_label"}
)
CONFIRM_KEYS = frozenset({"title", "text", "confirm", "deny", "style"})
ELEMENT_TYPES = frozenset(
    {
        "button",
        "checkboxes",
        "datepicker",
        "datetimepicker",
        "email_text_input",
        "file_input",
        "image",
        "multi_static_select",
        "multi_external_select",
        "multi_users_select",
        "multi_conversations_select",
        "multi_channels_select",
        "number_input",
        "overflow",
        "plain_text_input",
        "radio_buttons",
        "rich_text_input",
        "static_select",
        "external_select",
        "users_select",
        "conversations_select",
        "channels_select",
        "timepicker",
        "url_text_input",
        "workflow_button",
    }
)
TABLE_CELL_TYPES = frozenset({"raw_text", "rich_text", "raw_number"})
COLUMN_ALIGNS = frozenset({"left", "center", "right"})


class BlockLimitError(ValueError):
    """A message Slack would reject or cut; `problems` lists every reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} Block Kit problem(s): " + "; ".join(self.problems))


def check_message(
    blocks: Sequence[Block] | None,
    text: str | None = None,
    *,
    surface: Surface = "message",
) -> list[str]:
    """Every reason Slack would refuse these blocks (and fallback text) on `surface`; [] if none."""
    blocks = list(blocks or [])
    problems = list(_check_text(blocks, text, surface))
    problems += _check_count(blocks, surface)
    for i, block in enumerate(blocks):
        problems += _check_block(block, f"blocks[{i}]")
    problems += _check_duplicates(blocks)
    problems += _check_tables(blocks, surface)
    problems += _check_markdown_total(blocks)
    return problems


def assert_valid(
    blocks: Sequence[Block] | None,
    text: str | None = None,
    *,
    surface: Surface = "message",
) -> None:
    """Raise `BlockLimitError` listing every problem `check_message` finds."""
    problems = check_message(blocks, text, surface=surface)
    if problems:
        raise BlockLimitError(problems)


def soft_warnings(blocks: Sequence[Block] | None, text: str | None = None) -> list[str]:
    """Advice that does not stop a send: long text, blocks without fallback text."""
    warnings = []
    if text is not None and len(text) > TEXT_SOFT_LIMIT:
        warnings.append(f"text: {len(text)} chars; keep under {TEXT_SOFT_LIMIT}")
    if blocks and not text:
        warnings.append("text: no fallback text for notifications and screen readers")
    return warnings


# --- message-wide checks -------------------------------------------------------------------


def _check_text(blocks: list[Block], text: str | None, surface: Surface) -> Iterator[str]:
    if text is not None and len(text) > TEXT_HARD_LIMIT:
        yield f"text: {len(text)} chars, limit {TEXT_HARD_LIMIT}"
    if surface == "message" and not blocks and not text:
        yield "message has neither text nor blocks"


def _check_count(blocks: list[Block], surface: Surface) -> Iterator[str]:
    limit = MAX_BLOCKS[surface]
    if len(blocks) > limit:
        yield f"blocks: {len(blocks)} blocks, limit {limit} in a {surface}"


def _check_duplicates(blocks: list[Block]) -> Iterator[str]:
    yield from _duplicates("block_id", (b.get("block_id") for b in blocks if _is_obj(b)))
    yield from _duplicates("action_id", (e.get("action_id") for e in _elements_of(blocks)))


def _duplicates(what: str, values: Iterable[object]) -> Iterator[str]:
    seen: set[str] = set()
    for value in values:
        if isinstance(value, str):
            if value in seen:
                yield f"duplicate {what} {value!r}"
            seen.add(value)


def _elements_of(blocks: list[Block]) -> Iterator[Block]:
    """Interactive elements of every block: actions elements, section accessories, input."""
    for block in filter(_is_obj, blocks):
        candidates: list[Any] = []
        if block.get("type") == "actions" and isinstance(block.get("elements"), list):
            candidates = block["elements"]
        elif block.get("type") == "section":
            candidates = [block.get("accessory")]
        elif block.get("type") == "input":
            candidates = [block.get("element")]
        yield from filter(_is_obj, candidates)


def _check_tables(blocks: list[Block], surface: Surface) -> Iterator[str]:
    tables = [i for i, b in enumerate(blocks) if _is_obj(b) and b.get("type") == "table"]
    if surface == "message" and len(tables) > TABLES_PER_MESSAGE:
        yield f"blocks: {len(tables)} table blocks, limit {TABLES_PER_MESSAGE} per message"


def _check_markdown_total(blocks: list[Block]) -> Iterator[str]:
    total = sum(
        len(b["text"])
        for b in blocks
        if _is_obj(b) and b.get("type") == "markdown" and isinstance(b.get("text"), str)
    )
    if total > MARKDOWN_TOTAL_LIMIT:
        yield f"blocks: markdown blocks hold {total} chars together, limit {MARKDOWN_TOTAL_LIMIT}"


# --- one block -----------------------------------------------------------------------------


def _check_block(block: object, path: str) -> Iterator[str]:
    if not _is_obj(block):
        yield f"{path}: not an object"
        return
    kind = block.get("type")
    if kind not in BLOCK_KEYS:
        yield f"{path}: unknown block type {kind!r}"
        return
    yield from _unknown_keys(block, BLOCK_KEYS[kind], path)
    yield from _max_len(block.get("block_id"), BLOCK_ID_LIMIT, f"{path}.block_id")
    yield from BLOCK_CHECKS[kind](block, path)


def _section(block: Block, path: str) -> Iterator[str]:
    if "text" not in block and "fields" not in block:
        yield f"{path}: section needs text or fields"
    if "text" in block:
        yield from _text_obj(block["text"], f"{path}.text", SECTION_TEXT_LIMIT)
    if "fields" in block:
        yield from _section_fields(block["fields"], f"{path}.fields")
    if "accessory" in block:
        yield from _element(block["accessory"], f"{path}.accessory")


def _section_fields(fields: object, path: str) -> Iterator[str]:
    if not isinstance(fields, list) or not fields:
        yield f"{path}: must be a non-empty list"
        return
    if len(fields) > SECTION_FIELDS_MAX:
        yield f"{path}: {len(fields)} fields, limit {SECTION_FIELDS_MAX}"
    for i, field in enumerate(fields):
        yield from _text_obj(field, f"{path}[{i}]", SECTION_FIELD_LIMIT)


def _header(block: Block, path: str) -> Iterator[str]:
    yield from _text_obj(block.get("text"), f"{path}.text", HEADER_TEXT_LIMIT, plain_only=True)


def _divider(block: Block, path: str) -> Iterator[str]:
    return iter(())


def _context(block: Block, path: str) -> Iterator[str]:
    elements = block.get("elements")
    yield from _list_size(elements, CONTEXT_ELEMENTS_MAX, f"{path}.elements")
    for i, element in enumerate(elements if isinstance(elements, list) else []):
        where = f"{path}.elements[{i}]"
        if _is_obj(element) and element.get("type") == "image":
            yield from _image_source(element, where)
        else:
            yield from _text_obj(element, where, SECTION_TEXT_LIMIT)


def _actions(block: Block, path: str) -> Iterator[str]:
    elements = block.get("elements")
    yield from _list_size(elements, ACTIONS_ELEMENTS_MAX, f"{path}.elements")
    for i, element in enumerate(elements if isinstance(elements, list) else []):
        yield from _element(element, f"{path}.elements[{i}]")


def _image(block: Block, path: str) -> Iterator[str]:
    yield from _image_source(block, path)
    if "title" in block:
        yield from _text_obj(block["title"], f"{path}.title", 2_000, plain_only=True)


def _image_source(obj: Block, path: str) -> Iterator[str]:
    if "image_url" not in obj and "slack_file" not in obj:
        yield f"{path}: image needs image_url or slack_file"
    yield from _max_len(obj.get("image_url"), URL_LIMIT, f"{path}.image_url")
    yield from _required_str(obj.get("alt_text"), 2_000, f"{path}.alt_text")


def _table(block: Block, path: str) -> Iterator[str]:
    rows = block.get("rows")
    yield from _list_size(rows, TABLE_ROWS_MAX, f"{path}.rows")
    for r, row in enumerate(rows if isinstance(rows, list) else []):
        yield from _table_row(row, f"{path}.rows[{r}]")
    if "column_settings" in block:
        yield from _column_settings(block["column_settings"], f"{path}.column_settings")


def _table_row(row: object, path: str) -> Iterator[str]:
    yield from _list_size(row, TABLE_CELLS_MAX, path)
    for c, cell in enumerate(row if isinstance(row, list) else []):
        yield from _table_cell(cell, f"{path}[{c}]")


def _table_cell(cell: object, path: str) -> Iterator[str]:
    if not _is_obj(cell) or cell.get("type") not in TABLE_CELL_TYPES:
        yield f"{path}: a cell must be a raw_text, raw_number or rich_text object"
    elif cell["type"] == "rich_text":
        yield from _rich_text(cell, path)
    else:
        yield from _required_str(cell.get("text"), None, f"{path}.text")


def _column_settings(settings: object, path: str) -> Iterator[str]:
    if not isinstance(settings, list):
        yield f"{path}: must be a list"
        return
    if len(settings) > TABLE_COLUMN_SETTINGS_MAX:
        yield f"{path}: {len(settings)} items, limit {TABLE_COLUMN_SETTINGS_MAX}"
    for i, setting in enumerate(settings):
        yield from _column_setting(setting, f"{path}[{i}]")


def _column_setting(setting: object, path: str) -> Iterator[str]:
    if setting is None:
        return
    if not _is_obj(setting):
        yield f"{path}: must be an object or null"
        return
    yield from _unknown_keys(setting, frozenset({"align", "is_wrapped"}), path)
    if "align" in setting and setting["align"] not in COLUMN_ALIGNS:
        yield f"{path}.align: {setting['align']!r} is not left, center or right"
    if "is_wrapped" in setting and not isinstance(setting["is_wrapped"], bool):
        yield f"{path}.is_wrapped: must be true or false"


def _rich_text(block: Block, path: str) -> Iterator[str]:
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        yield f"{path}.elements: rich_text needs a non-empty list of elements"


def _input(block: Block, path: str) -> Iterator[str]:
    yield from _text_obj(block.get("label"), f"{path}.label", 2_000, plain_only=True)
    if "hint" in block:
        yield from _text_obj(block["hint"], f"{path}.hint", 2_000, plain_only=True)
    yield from _element(block.get("element"), f"{path}.element")


def _file(block: Block, path: str) -> Iterator[str]:
    yield from _required_str(block.get("external_id"), None, f"{path}.external_id")
    if block.get("source") != "remote":
        yield f"{path}.source: must be 'remote'"


def _video(block: Block, path: str) -> Iterator[str]:
    yield from _text_obj(block.get("title"), f"{path}.title", 200, plain_only=True)
    for key in ("alt_text", "video_url", "thumbnail_url"):
        yield from _required_str(block.get(key), None, f"{path}.{key}")


def _markdown(block: Block, path: str) -> Iterator[str]:
    yield from _required_str(block.get("text"), MARKDOWN_TOTAL_LIMIT, f"{path}.text")


BLOCK_CHECKS: dict[str, Checker] = {
    "section": _section,
    "header": _header,
    "divider": _divider,
    "context": _context,
    "actions": _actions,
    "image": _image,
    "table": _table,
    "rich_text": _rich_text,
    "input": _input,
    "file": _file,
    "video": _video,
    "markdown": _markdown,
}


# --- interactive elements ------------------------------------------------------------------


def _element(element: object, path: str) -> Iterator[str]:
    if not _is_obj(element):
        yield f"{path}: not an object"
        return
    kind = element.get("type")
    if kind not in ELEMENT_TYPES:
        yield f"{path}: unknown element type {kind!r}"
        return
    yield from _max_len(element.get("action_id"), ACTION_ID_LIMIT, f"{path}.action_id")
    if "confirm" in element:
        yield from _confirm(element["confirm"], f"{path}.confirm")
    if kind == "button":
        yield from _button(element, path)


def _button(button: Block, path: str) -> Iterator[str]:
    yield from _unknown_keys(button, BUTTON_KEYS, path)
    text_path = f"{path}.text"
    yield from _text_obj(button.get("text"), text_path, BUTTON_TEXT_LIMIT, plain_only=True)
    yield from _max_len(button.get("value"), BUTTON_VALUE_LIMIT, f"{path}.value")
    yield from _max_len(button.get("url"), URL_LIMIT, f"{path}.url")
    yield from _max_len(button.get("accessibility_label"), 75, f"{path}.accessibility_label")
    if "style" in button and button["style"] not in BUTTON_STYLES:
        yield f"{path}.style: {button['style']!r} is not primary or danger"


def _confirm(confirm: object, path: str) -> Iterator[str]:
    if not _is_obj(confirm):
        yield f"{path}: not an object"
        return
    yield from _unknown_keys(confirm, CONFIRM_KEYS, path)
    for key, limit in CONFIRM_LIMITS.items():
        plain_only = key != "text"
        yield from _text_obj(confirm.get(key), f"{path}.{key}", limit, plain_only=plain_only)
    if "style" in confirm and confirm["style"] not in BUTTON_STYLES:
        yield f"{path}.style: {confirm['style']!r} is not primary or danger"


# --- small pieces --------------------------------------------------------------------------


def _text_obj(obj: object, path: str, limit: int, *, plain_only: bool = False) -> Iterator[str]:
    if not _is_obj(obj):
        yield f"{path}: missing text object"
        return
    allowed = frozenset({"plain_text"}) if plain_only else TEXT_TYPES
    if obj.get("type") not in allowed:
        yield f"{path}.type: {obj.get('type')!r}, expected {' or '.join(sorted(allowed))}"
    yield from _unknown_keys(obj, TEXT_KEYS, path)
    yield from _required_str(obj.get("text"), limit, f"{path}.text")


def _required_str(value: object, limit: int | None, path: str) -> Iterator[str]:
    if not isinstance(value, str):
        yield f"{path}: missing"
    elif not value:
        yield f"{path}: empty"
    elif limit is not None:
        yield from _max_len(value, limit, path)


def _max_len(value: object, limit: int, path: str) -> Iterator[str]:
    if isinstance(value, str) and len(value) > limit:
        yield f"{path}: {len(value)} chars, limit {limit}"


def _list_size(value: object, limit: int, path: str) -> Iterator[str]:
    if not isinstance(value, list) or not value:
        yield f"{path}: must be a non-empty list"
    elif len(value) > limit:
        yield f"{path}: {len(value)} items, limit {limit}"


def _unknown_keys(obj: Block, allowed: frozenset[str], path: str) -> Iterator[str]:
    extra = sorted(set(obj) - allowed)
    if extra:
        yield f"{path}: unknown key(s) {', '.join(extra)}"


def _is_obj(value: object) -> TypeGuard[Block]:
    return isinstance(value, Mapping)
