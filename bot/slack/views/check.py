"""`check`: the host picture and the verdict."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.slack.views.common import Message, asked_by, esc
from bot.slack.views.host import host_blocks, verdict
from bot.slack.views.top import buttons
from commands.results import CheckResult


def check_message(result: CheckResult, user_id: str, words: str,
                  verb: str = "Asked by") -> Message:
    blocks: list[Block] = host_blocks(result.report, result.assessment, result.vcenter)
    blocks += [verdict(result.assessment),
               buttons(result.report.host, words, result.assessment),
               asked_by(user_id, words, verb)]
    return Message.build(f"{esc(result.assessment.summary)} (asked by <@{user_id}>)", blocks)
