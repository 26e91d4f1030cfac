"""Remediation over signed Slack requests and the fake Slack: a plan with buttons, who may
press them, the migration in the simulated fleet, the thread, the audit."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from bot.esx.collect import collect_host
from bot.slack.views.plan import APPROVE, REJECT
from bot.slack.views.top import PROPOSE_FIX
from bot.store.api import State
from tests import fakeslack
from tests.fakeslack import ACK_DEADLINE, FakeSlack
from tests.slack_helpers import Served, all_text, assert_every_message_valid, demo_runtime, served

fake_slack = fakeslack.fake_slack
CHANNEL = "C0OPS"
REQUESTER = "U0OPERATOR"  # the driver's default user; an approver too


@pytest_asyncio.fixture
async def bot(fake_slack: FakeSlack) -> AsyncIterator[Served]:
    async with demo_runtime(changes=True) as runtime, served(fake_slack, runtime) as s:
        yield s
    assert_every_message_valid(fake_slack)


def is_plan(message: dict[str, Any]) -> bool:
    return "only approvers can approve" in all_text(message)


def buttons(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions"
            for e in b["elements"]]


async def plan_for(bot: Served, words: str) -> dict[str, Any]:
    ack = await bot.driver.slash("/aio", words)
    assert ack.status == 200 and ack.elapsed < ACK_DEADLINE
    message = await bot.fake.wait_for_message(is_plan, timeout=20)
    await bot.runtime.drain()  # the request now knows its message
    return copy.deepcopy(message)  # as a client still showing the buttons has it


async def refused(bot: Served, fragment: str) -> None:
    await bot.fake.wait_for_response(lambda r: fragment in r.body.get("text", ""), timeout=10)


async def test_fix_host01_approved_in_slack_migrates_and_is_audited(bot: Served) -> None:
    message = await plan_for(bot, "fix host01")
    assert buttons(message) == [APPROVE, REJECT]
    remediation = bot.runtime.remediation
    assert remediation is not None
    [request] = await remediation.store.requests(host="host01")
    assert (request.channel, request.message_ts) == (CHANNEL, message["ts"])
    moved = [s["vm"] for s in request.params["plan"]["steps"]]

    await bot.driver.click(message, APPROVE, user_id="U0NOBODY")
    await refused(bot, "Only the configured approvers")
    await bot.driver.click(message, APPROVE, user_id=REQUESTER)
    await refused(bot, "someone else has to approve")
    assert (await remediation.store.get(request.id)).state is State.PROPOSED  # type: ignore[union-attr]

    await bot.driver.click(message, APPROVE, user_id="U0ALICE")
    done = await bot.fake.wait_for_message(
        lambda m: m.get("ts") == message["ts"] and ":white_check_mark: Done" in all_text(m),
        timeout=60)
    assert "<@U0ALICE>" in all_text(done) and buttons(done) == []
    await bot.runtime.drain()
    thread = [m for m in bot.fake.messages(CHANNEL) if m.get("thread_ts") == message["ts"]]
    texts = [m["text"] for m in thread]
    assert any(t.startswith("Migrating") for t in texts)
    assert texts[-1].startswith("Done:")

    report = await collect_host(bot.runtime.transport, bot.runtime.inventory.get("host01"))
    assert not set(moved) & {vm.name for vm in report.vms}

    await bot.driver.click(message, APPROVE, user_id="U0BOB")
    await refused(bot, "already succeeded")
    await bot.driver.slash("/aio", "audit host01")
    audit = await bot.fake.wait_for_message(lambda m: "Audit trail" in all_text(m), timeout=10)
    text = all_text(audit)
    for fragment in ("approval-refused", "U0ALICE", "step-succeeded", "succeeded"):
        assert fragment in text


async def test_reject_and_the_requester_withdrawing(bot: Served) -> None:
    message = await plan_for(bot, "migrate vdi-eng-016")
    await bot.driver.click(message, REJECT, user_id="U0NOBODY")
    await refused(bot, "Only approvers or the requester")
    await bot.driver.click(message, REJECT, user_id="U0BOB")
    rejected = await bot.fake.wait_for_message(
        lambda m: m.get("ts") == message["ts"] and "Rejected" in all_text(m), timeout=10)
    assert buttons(rejected) == []


async def test_a_double_click_and_a_redelivery_run_once(bot: Served) -> None:
    message = await plan_for(bot, "migrate vdi-eng-016")
    clicks = [bot.driver.click(message, APPROVE, user_id=user)
              for user in ("U0ALICE", "U0BOB", "U0ALICE")]
    acks = await asyncio.gather(*clicks)
    assert all(a.status == 200 for a in acks)
    await bot.fake.wait_for_message(
        lambda m: m.get("ts") == message["ts"] and "Done" in all_text(m), timeout=30)
    await bot.runtime.drain()
    remediation = bot.runtime.remediation
    assert remediation is not None
    [request] = await remediation.store.requests(host="host01")
    trail = await remediation.store.audit_trail(request_id=request.id)
    assert [e.event for e in trail].count("step-started") == 1
    assert [e.event for e in trail].count("approved") == 1


async def test_propose_fix_button_posts_the_plan(bot: Served) -> None:
    await bot.driver.slash("/aio", "top host01")
    top = await bot.fake.wait_for_message(
        lambda m: any(b["type"] == "table" for b in m.get("blocks", [])), timeout=10)
    await bot.driver.click(top, PROPOSE_FIX, user_id="U0BOB")
    plan = await bot.fake.wait_for_message(is_plan, timeout=20)
    assert "Proposed by <@U0BOB>" in all_text(plan)
