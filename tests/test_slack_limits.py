"""Every limit of bot.slack.limits with one message that passes and one that fails."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    HeaderBlock,
    SectionBlock,
    TableBlock,
)

from bot.slack.limits import (
    BlockLimitError,
    assert_valid,
    check_message,
    soft_warnings,
)

Blocks = list[dict[str, Any]]


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def section(text: str = "x", **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text), **extra}


def button(action_id: str = "b", text: str = "Go", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": plain(text), **extra}


def actions(*elements: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements), **extra}


def confirm(title: str = "Sure?", text: str = "Restart hostd", yes: str = "Yes", no: str = "No"):  # type: ignore[no-untyped-def]
    return {"title": plain(title), "text": plain(text), "confirm": plain(yes), "deny": plain(no)}


def raw(text: str) -> dict[str, Any]:
    return {"type": "raw_text", "text": text}


def table(rows: int = 1, cells: int = 1, **extra: Any) -> dict[str, Any]:
    return {"type": "table", "rows": [[raw("v")] * cells for _ in range(rows)], **extra}


# (name, passing blocks, failing blocks, fragment of the expected problem)
CASES: list[tuple[str, Blocks, Blocks, str]] = [
    ("50 blocks", [{"type": "divider"}] * 50, [{"type": "divider"}] * 51, "51 blocks, limit 50"),
    ("known block type", [section()], [{"type": "data_table", "rows": []}], "unknown block type"),
    ("known block keys", [section()], [section(colour="red")], "unknown key(s) colour"),
    ("block_id length", [section(block_id="b" * 255)], [section(block_id="b" * 256)], "256 chars"),
    ("section text 3000", [section("x" * 3000)], [section("x" * 3001)], "3001 chars, limit 3000"),
    ("section needs text", [section()], [{"type": "section"}], "needs text or fields"),
    (
        "section fields 10",
        [{"type": "section", "fields": [mrkdwn("f")] * 10}],
        [{"type": "section", "fields": [mrkdwn("f")] * 11}],
        "11 fields, limit 10",
    ),
    (
        "section field 2000",
        [{"type": "section", "fields": [mrkdwn("f" * 2000)]}],
        [{"type": "section", "fields": [mrkdwn("f" * 2001)]}],
        "fields[0].text: 2001 chars",
    ),
    ("empty text", [section(" ")], [section("")], "text.text: empty"),
    (
        "text object type",
        [section()],
        [{"type": "section", "text": {"type": "html", "text": "x"}}],
        "'html'",
    ),
    (
        "header plain_text",
        [{"type": "header", "text": plain("AIO")}],
        [{"type": "header", "text": mrkdwn("AIO")}],
        "expected plain_text",
    ),
    (
        "header 150",
        [{"type": "header", "text": plain("h" * 150)}],
        [{"type": "header", "text": plain("h" * 151)}],
        "151 chars, limit 150",
    ),
    (
        "button text 75",
        [actions(button(text="t" * 75))],
        [actions(button(text="t" * 76))],
        "76 chars, limit 75",
    ),
    (
        "button text plain",
        [actions(button())],
        [actions({"type": "button", "action_id": "b", "text": mrkdwn("Go")})],
        "expected plain_text",
    ),
    (
        "action_id 255",
        [actions(button("a" * 255))],
        [actions(button("a" * 256))],
        "action_id: 256 chars",
    ),
    (
        "value 2000",
        [actions(button(value="v" * 2000))],
        [actions(button(value="v" * 2001))],
        "value: 2001 chars",
    ),
    (
        "style",
        [actions(button(style="danger"))],
        [actions(button(style="warning"))],
        "not primary or danger",
    ),
    (
        "button keys",
        [actions(button(url="https://x"))],
        [actions(button(colour="red"))],
        "unknown key(s) colour",
    ),
    (
        "element type",
        [actions(button())],
        [actions({"type": "slider", "action_id": "s"})],
        "unknown element type",
    ),
    (
        "confirm title 100",
        [actions(button(confirm=confirm("t" * 100)))],
        [actions(button(confirm=confirm("t" * 101)))],
        "confirm.title.text: 101 chars",
    ),
    (
        "confirm text 300",
        [actions(button(confirm=confirm(text="t" * 300)))],
        [actions(button(confirm=confirm(text="t" * 301)))],
        "confirm.text.text: 301 chars",
    ),
    (
        "confirm button 30",
        [actions(button(confirm=confirm(yes="y" * 30)))],
        [actions(button(confirm=confirm(yes="y" * 31)))],
        "confirm.confirm.text: 31 chars",
    ),
    (
        "deny button 30",
        [actions(button(confirm=confirm(no="n" * 30)))],
        [actions(button(confirm=confirm(no="n" * 31)))],
        "confirm.deny.text: 31 chars",
    ),
    (
        "confirm style",
        [actions(button(confirm={**confirm(), "style": "primary"}))],
        [actions(button(confirm={**confirm(), "style": "loud"}))],
        "'loud' is not primary",
    ),
    (
        "actions 25",
        [actions(*[button(f"b{i}") for i in range(25)])],
        [actions(*[button(f"b{i}") for i in range(26)])],
        "26 items, limit 25",
    ),
    ("actions not empty", [actions(button())], [actions()], "non-empty list"),
    (
        "context 10",
        [{"type": "context", "elements": [mrkdwn("c")] * 10}],
        [{"type": "context", "elements": [mrkdwn("c")] * 11}],
        "11 items, limit 10",
    ),
    ("table rows 100", [table(rows=100)], [table(rows=101)], "101 items, limit 100"),
    ("table cells 20", [table(cells=20)], [table(cells=21)], "rows[0]: 21 items, limit 20"),
    (
        "table cell type",
        [{"type": "table", "rows": [[raw("a"), {"type": "rich_text", "elements": [{}]}]]}],
        [{"type": "table", "rows": [[mrkdwn("a")]]}],
        "must be a raw_text",
    ),
    ("table empty cell", [table()], [{"type": "table", "rows": [[raw("")]]}], "text: empty"),
    (
        "table column_settings",
        [table(column_settings=[{"align": "right", "is_wrapped": False}, None])],
        [table(column_settings=[{"align": "middle"}])],
        "'middle' is not left, center or right",
    ),
    ("one table per message", [table()], [table(), table()], "2 table blocks, limit 1"),
    (
        "duplicate block_id",
        [section(block_id="a"), section(block_id="b")],
        [section(block_id="a"), section(block_id="a")],
        "duplicate block_id 'a'",
    ),
    (
        "duplicate action_id",
        [actions(button("restart:host01")), actions(button("restart:host02"))],
        [actions(button("restart")), section(accessory=button("restart"))],
        "duplicate action_id 'restart'",
    ),
    (
        "markdown total 12000",
        [{"type": "markdown", "text": "m" * 6000}] * 2,
        [{"type": "markdown", "text": "m" * 6000}] * 2 + [{"type": "markdown", "text": "m"}],
        "12001 chars together",
    ),
    (
        "image alt_text",
        [{"type": "image", "image_url": "https://x/i.png", "alt_text": "chart"}],
        [{"type": "image", "image_url": "https://x/i.png"}],
        "alt_text: missing",
    ),
    ("block is an object", [section()], ["section"], "blocks[0]: not an object"),  # type: ignore[list-item]
]


@pytest.mark.parametrize(("name", "good", "bad", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_limit(name: str, good: Blocks, bad: Blocks, fragment: str) -> None:
    assert check_message(good, "fallback") == []
    problems = check_message(bad, "fallback")
    assert any(fragment in p for p in problems), problems


def test_modal_and_home_take_100_blocks() -> None:
    blocks = [{"type": "divider"}] * 100
    assert check_message(blocks, surface="modal") == []
    assert check_message(blocks, surface="home") == []
    assert check_message([*blocks, {"type": "divider"}], surface="home") == [
        "blocks: 101 blocks, limit 100 in a home"
    ]


def test_top_level_text() -> None:
    assert check_message([], "t" * 40_000) == []
    assert check_message([], "t" * 40_001) == ["text: 40001 chars, limit 40000"]
    assert check_message([], "") == ["message has neither text nor blocks"]


def test_soft_warnings_are_not_errors() -> None:
    assert check_message([], "t" * 5_000) == []
    assert soft_warnings([], "t" * 5_000) == ["text: 5000 chars; keep under 4000"]
    assert soft_warnings([section()], None) == [
        "text: no fallback text for notifications and screen readers"
    ]
    assert soft_warnings([section()], "short") == []


def test_assert_valid_lists_every_problem() -> None:
    assert_valid([section()], "ok")
    with pytest.raises(BlockLimitError) as err:
        assert_valid([section(""), {"type": "header", "text": mrkdwn("h")}], "x")
    assert len(err.value.problems) == 2
    assert isinstance(err.value, ValueError)
    assert "blocks[0].text.text: empty" in str(err.value)


def test_slack_sdk_model_output_passes() -> None:
    """What the lead will build with slack_sdk's models is accepted as is."""
    blocks = [
        HeaderBlock(text="AIO handles on host01").to_dict(),
        SectionBlock(text="*host01*: 12 of 16 handles", block_id="summary").to_dict(),
        TableBlock(
            rows=[[{"type": "raw_text", "text": "host"}, {"type": "raw_text", "text": "12"}]],
            column_settings=[None, {"align": "right"}],
        ).to_dict(),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Restart hostd",
                    action_id="aio_restart",
                    value="host01",
                    style="danger",
                    confirm=ConfirmObject(title="Restart?", text="hostd on host01"),
                )
            ]
        ).to_dict(),
    ]
    assert check_message(blocks, "AIO handles on host01") == []
