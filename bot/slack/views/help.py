"""`help`, usage errors and refusals: ephemeral messages with the commands' syntax."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock

from bot import messages
from bot.slack.views.common import Message, asked_by, clip, esc, mrkdwn
from commands.registry import Command
from commands.results import HelpEntry, HelpResult

FENCE = "`" * 3


def help_message(result: HelpResult) -> Message:
    title = f"/aio {result.topic}" if result.topic else "aio-bot commands"
    blocks: list[Block] = [HeaderBlock(text=title)]
    blocks += [SectionBlock(text=mrkdwn(_entry(e, details=result.topic is not None)))
               for e in result.entries]
    blocks.append(ContextBlock(elements=[mrkdwn(messages.slack_help_footer())]))
    text = "; ".join(f"/aio {e.syntax}" for e in result.entries)
    return Message.build(f"aio-bot: {esc(text)}", blocks)


def _entry(entry: HelpEntry, *, details: bool) -> str:
    text = f"*`/aio {esc(entry.syntax)}`*\n{esc(entry.summary)}"
    if details and entry.details:
        text += f"\n{esc(entry.details)}"
    return text


def error_message(sentence: str, command: Command | None) -> Message:
    """One friendly sentence, and the command's syntax (or a pointer to `help`)."""
    blocks: list[Block] = [SectionBlock(text=mrkdwn(f":warning: {esc(sentence)}"))]
    if command is not None:
        blocks.append(SectionBlock(text=mrkdwn(_entry(command.help_entry(), details=False))))
    else:
        blocks.append(ContextBlock(elements=[mrkdwn(messages.slack_try_help())]))
    return Message.build(esc(sentence), blocks)


def notice_message(sentence: str) -> Message:
    """A plain ephemeral sentence (refusals, the not-yet-available buttons)."""
    return Message.build(esc(sentence), [SectionBlock(text=mrkdwn(esc(sentence)))])


def plain_message(text: str, user_id: str, words: str) -> Message:
    """A result with no Block Kit view yet, as the console prints it."""
    body = clip(esc(text.replace(FENCE, "'" * 3)), 2900)
    blocks: list[Block] = [SectionBlock(text=mrkdwn(f"{FENCE}{body}{FENCE}")),
                           asked_by(user_id, words)]
    return Message.build(clip(esc(text), 3000), blocks)
