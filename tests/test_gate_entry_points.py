"""The gate from every entry point: slash commands, mentions and buttons through signed
requests to the real app (Web API calls to the fake Slack), and console lines. A refused
caller is told privately and nothing changes (the request stays proposed, no step starts).
The CLI's side is in tests/test_cli_words.py; the rules one by one in tests/test_gate.py."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from bot.config import RemediationConfig, SlackAccess
from bot.console.repl import console
from bot.demo import DemoFleet, demo_config
from bot.gate import Caller
from bot.slack.views.plan import APPROVE
from bot.store.api import Request, State
from commands.catalog import build_registry
from tests import fakeslack
from tests.fakeslack import FakeSlack
from tests.slack_helpers import Served, all_text, assert_every_message_valid, demo_runtime, served

fake_slack = fakeslack.fake_slack
OPS = "C0OPS"  # the driver's default channel; the default user U0OPERATOR asks


def is_plan(message: dict[str, Any]) -> bool:
    return "only approvers can approve" in all_text(message)


@pytest.fixture
def access() -> SlackAccess:
    return SlackAccess(allowed_channels=(OPS,), allowed_users=("U0OPERATOR", "U0ALICE"),
                       approvers=("U0ALICE", "U0MALLORY"))


@asynccontextmanager
async def bot_with(fake: FakeSlack, access: SlackAccess,
                   remediation: RemediationConfig | None = None) -> AsyncIterator[Served]:
    async with demo_runtime(access, changes=True, remediation=remediation) as runtime, \
            served(fake, runtime) as s:
        yield s
    assert_every_message_valid(fake)


async def plan_for(bot: Served, words: str) -> tuple[dict[str, Any], Request]:
    await bot.driver.slash("/aio", words)
    message = await bot.fake.wait_for_message(is_plan, timeout=30)
    await bot.runtime.drain()
    assert bot.runtime.remediation is not None
    [request] = await bot.runtime.remediation.store.requests(limit=10)
    return copy.deepcopy(message), request


async def private(bot: Served, fragment: str) -> None:
    await bot.fake.wait_for_response(
        lambda r: r.body.get("response_type") == "ephemeral"
        and fragment in r.body.get("text", ""), timeout=15)


async def unchanged(bot: Served, request: Request) -> None:
    await bot.runtime.drain()
    assert bot.runtime.remediation is not None
    store = bot.runtime.remediation.store
    now = await store.get(request.id)
    assert now is not None and now.state is State.PROPOSED
    events = [e.event for e in await store.audit_trail(request_id=request.id)]
    assert "approved" not in events and "step-started" not in events


async def test_buttons_follow_the_allow_lists(fake_slack: FakeSlack,
                                              access: SlackAccess) -> None:
    async with bot_with(fake_slack, access) as bot:
        message, request = await plan_for(bot, "migrate vdi-eng-016")
        await bot.driver.click(message, APPROVE, user_id="U0ALICE", channel_id="C0ELSEWHERE")
        await private(bot, "not enabled")
        await bot.driver.click(message, APPROVE, user_id="U0MALLORY")  # approver, not allowed
        await private(bot, "not enabled")
        await unchanged(bot, request)
        await bot.driver.click(message, APPROVE, user_id="U0ALICE")
        await bot.fake.wait_for_message(
            lambda m: m.get("ts") == message["ts"] and "Done" in all_text(m), timeout=60)


async def test_slash_and_mention_follow_the_allow_lists(fake_slack: FakeSlack,
                                                        access: SlackAccess) -> None:
    async with bot_with(fake_slack, access) as bot:
        await bot.driver.slash("/aio", "top host01", user_id="U0MALLORY")
        await private(bot, "not enabled")
        await bot.driver.event({"type": "app_mention", "user": "U0MALLORY", "channel": OPS,
                                "text": "<@U0BOT> fix host01", "ts": "1700000000.000100"})
        call = await bot.fake.wait_for_call("chat.postEphemeral", timeout=15)
        assert "not enabled" in str(call.args.get("text"))
        assert bot.runtime.remediation is not None
        assert await bot.runtime.remediation.store.requests(limit=10) == []


async def test_another_workspace_is_refused(fake_slack: FakeSlack) -> None:
    async with bot_with(fake_slack, SlackAccess(approvers=("U0ALICE",))) as bot:
        await bot.driver.slash("/aio", "top host01", team_id="T0ELSEWHERE")
        await private(bot, "workspace I am installed in")
        assert bot.runtime.gate.home_team == fake_slack.team_id  # from auth.test
        assert not bot.fake.calls_to("chat.postMessage")


async def test_user_group_approvers(fake_slack: FakeSlack) -> None:
    fake_slack.set_usergroup("S0ONCALL", ["U0BOB"])
    async with bot_with(fake_slack, SlackAccess(approvers=("S0ONCALL",))) as bot:
        message, request = await plan_for(bot, "migrate vdi-eng-016")
        fake_slack.fail("usergroups.users.list", status=503, times=3)  # the client retries twice
        await bot.driver.click(message, APPROVE, user_id="U0BOB")
        await private(bot, "could not check the approver groups")
        await bot.driver.click(message, APPROVE, user_id="U0DAVE")
        await private(bot, "Only the configured approvers")
        await unchanged(bot, request)
        await bot.driver.click(message, APPROVE, user_id="U0BOB")
        done = await bot.fake.wait_for_message(
            lambda m: m.get("ts") == message["ts"] and "Done" in all_text(m), timeout=60)
        assert "<@U0BOB>" in all_text(done)


async def test_slash_approve_of_a_reboot_asks_for_confirmation(fake_slack: FakeSlack) -> None:
    async with bot_with(fake_slack, SlackAccess(approvers=("U0ALICE",))) as bot:
        _, request = await plan_for(bot, "reboot host02")
        await bot.driver.slash("/aio", f"approve {request.id}", user_id="U0ALICE")
        answer = await bot.fake.wait_for_response(
            lambda r: "press Approve and confirm" in all_text(r.body), timeout=15)
        assert answer.body["response_type"] == "ephemeral"
        [button] = [e for b in answer.body["blocks"] if b["type"] == "actions"
                    for e in b["elements"] if e["action_id"] == APPROVE]
        assert button["style"] == "danger" and button["confirm"]["style"] == "danger"
        await unchanged(bot, request)


async def test_direct_messages_read_but_do_not_propose(fake_slack: FakeSlack) -> None:
    async with bot_with(fake_slack, SlackAccess(approvers=("U0ALICE",))) as bot:
        await bot.driver.slash("/aio", "fix host01", channel_id="D0DIRECT",
                               channel_name="directmessage")
        await private(bot, "not in a direct message")
        await bot.driver.slash("/aio", "top host01", channel_id="D0DIRECT",
                               channel_name="directmessage")
        await bot.fake.wait_for_call(
            "chat.postMessage", lambda c: c.args.get("channel") == "D0DIRECT", timeout=15)


async def test_open_proposals_per_user(fake_slack: FakeSlack) -> None:
    limit = RemediationConfig(max_open_per_user=1)
    async with bot_with(fake_slack, SlackAccess(approvers=("U0ALICE",)), limit) as bot:
        _, first = await plan_for(bot, "migrate vdi-eng-016")
        await bot.driver.slash("/aio", "power-off vdi-eng-016")
        await private(bot, f"open proposal(s) (#{first.id})")
        await bot.driver.slash("/aio", "power-off vdi-eng-016", user_id="U0ALICE")
        await private(bot, f"Request #{first.id} is already open for vdi-eng-016")
        await bot.driver.slash("/aio", "raise-limit host02", user_id="U0ALICE")
        await bot.fake.wait_for_message(lambda m: is_plan(m) and "host02" in all_text(m),
                                        timeout=30)


async def test_console_lines_pass_the_gate() -> None:
    lines = iter(['migrate "QA Win11 Desktop"', "approve 1", "approve 1 as @carol",
                  "approve 1 as @alice", "quit"])
    said: list[str] = []
    async with DemoFleet(config=demo_config(("@alice",))) as demo:
        ctx = demo.services.context(Caller("@you", "console"))
        assert await console(build_registry(), ctx, read=lambda _: next(lines),
                             write=said.append) == 0
    text = "\n".join(said)
    assert "Request #1: Migrate QA Win11 Desktop" in text
    assert "error: You asked for this change; someone else has to approve it." in text
    assert "error: Only the configured approvers can approve changes." in text
    assert "Request #1 succeeded, approved by @alice" in text
