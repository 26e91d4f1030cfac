"""What every view shares: the Message type, mrkdwn escaping, the headroom bar, the
"asked by" line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject

from bot.slack.limits import SECTION_TEXT_LIMIT, assert_valid

BAR_WIDTH = 20
TEXT_LIMIT = 3000  # section text


@dataclass(frozen=True)
class Attachment:
    """A file to share in the message's thread: the whole table when it does not fit
    (`content`, text), or a chart (`data`, bytes, which wins when set)."""

    filename: str
    title: str
    content: str
    comment: str
    data: bytes | None = None

    @property
    def payload(self) -> bytes:
        """The bytes to upload."""
        return self.data if self.data is not None else self.content.encode()


@dataclass(frozen=True)
class Message:
    """Fallback text and blocks (as dicts, already checked), and maybe a file to attach."""

    text: str
    blocks: list[dict[str, Any]]
    attachment: Attachment | None = None

    @classmethod
    def build(cls, text: str, blocks: Sequence[Block],
              attachment: Attachment | None = None) -> Message:
        """Serialize (slack_sdk validates lengths) and check against Slack's limits."""
        dicts = [b.to_dict() for b in blocks]
        text = clip(text, SECTION_TEXT_LIMIT)
        assert_valid(dicts, text)
        return cls(text, dicts, attachment)

    def body(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def esc(text: str) -> str:
    """Escape the three characters mrkdwn treats as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar(fraction: float, width: int = BAR_WIDTH) -> str:
    """`█████████████░░░░░░░` for a share in [0, 1]."""
    filled = max(0, min(width, round(fraction * width)))
    return "█" * filled + "░" * (width - filled)


def mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, TEXT_LIMIT))


def asked_by(user_id: str, words: str, verb: str = "Asked by") -> ContextBlock:
    """`Asked by @someone · /aio top host01`."""
    command = clip(" ".join(words.split()), 200).replace("`", "'")
    return ContextBlock(elements=[mrkdwn(f"{verb} <@{user_id}> · `/aio {esc(command)}`")])
