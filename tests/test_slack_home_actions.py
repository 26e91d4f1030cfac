"""App Home with actions, through the real app and the fake Slack: Scan now, Post summary, and
per host at risk Top VMs and Propose fix (a modal with the plan before it is posted). Every
button runs as the clicker through the gate, as from a direct message with the bot; the tab
is published again after a scan started from it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from bot import messages
from bot.config import SlackAccess
from bot.slack.handlers.history_jobs import HistoryJobs
from bot.slack.views import modals
from bot.slack.views.home import HOME_FIX, HOME_SCAN, HOME_SUMMARY, HOME_TOP
from bot.slack.web.client import make_client
from tests import fakeslack
from tests.fakeslack import FakeSlack
from tests.slack_helpers import (
    BOT_TOKEN,
    Served,
    all_text,
    assert_every_message_valid,
    demo_runtime,
    served,
)

fake_slack = fakeslack.fake_slack
USER = "U0OPERATOR"


def home_opened(user: str = USER) -> dict[str, Any]:
    return {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
            "event_ts": "1700000000.000300"}


@asynccontextmanager
async def home_bot(fake: FakeSlack, access: SlackAccess | None = None
                   ) -> AsyncIterator[Served]:
    """The demo fleet with changes, one background scan stored (hosts at risk, incidents)."""
    async with demo_runtime(access, changes=True) as runtime, served(fake, runtime) as s:
        await HistoryJobs(runtime, make_client(BOT_TOKEN, fake.api_url)).scan(datetime.now(UTC))
        yield s


async def open_home(bot: Served, user: str = USER) -> dict[str, Any]:
    published = len(bot.fake.calls_to("views.publish"))
    await bot.driver.event(home_opened(user))
    await bot.fake.wait_until(lambda: len(bot.fake.calls_to("views.publish")) > published
                              or None, 10, "views.publish")
    return bot.fake.views[user]


def buttons(view: dict[str, Any]) -> dict[str, str]:
    """action_id -> value of every button of the tab."""
    return {e["action_id"]: e.get("value", "") for b in view["blocks"] if b["type"] == "actions"
            for e in b["elements"]}


def dms(bot: Served, user: str = USER) -> list[dict[str, Any]]:
    return [c.args for c in bot.fake.calls_to("chat.postMessage")
            if c.args.get("channel") == user]


async def test_home_buttons_run_as_the_clicker(fake_slack: FakeSlack) -> None:
    async with home_bot(fake_slack) as bot:
        view = await open_home(bot)
        found = buttons(view)
        assert HOME_SCAN in found and HOME_SUMMARY in found
        assert found[f"{HOME_TOP}_0"] == "host01"  # the riskiest host first
        assert found[f"{HOME_FIX}_0"] == "host01"

        await bot.driver.click_home(f"{HOME_TOP}_0")
        top = await fake_slack.wait_for_message(
            lambda m: m.get("channel") == USER and any(
                b["type"] == "table" for b in m.get("blocks", [])), timeout=10)
        assert "host01" in all_text(top) and f"<@{USER}>" in all_text(top)

        await bot.driver.click_home(HOME_SUMMARY)
        await fake_slack.wait_for_message(
            lambda m: m.get("channel") == USER and "summary" in all_text(m).lower()
            and m is not top, timeout=20)

        published = len(fake_slack.calls_to("views.publish"))
        await bot.driver.click_home(HOME_SCAN)
        await fake_slack.wait_for_message(
            lambda m: m.get("channel") == USER and "host08" in all_text(m)
            and "Scanning" not in all_text(m), timeout=30)
        await fake_slack.wait_until(
            lambda: len(fake_slack.calls_to("views.publish")) > published or None, 10,
            "the tab published again after the scan")
    assert_every_message_valid(fake_slack)


async def test_propose_fix_from_home_shows_the_plan_first(fake_slack: FakeSlack) -> None:
    async with home_bot(fake_slack) as bot:
        await open_home(bot)
        await bot.driver.click_home(f"{HOME_FIX}_0")
        view = await bot.driver.modal(
            predicate=lambda v: v.get("submit", {}).get("text") == "Post the proposal")
        assert view["title"]["text"] == "Propose a fix"
        shown = all_text(view)
        assert "host01" in shown and "_effect:_" in shown  # the plan's steps, before posting
        assert bot.fake.messages("C0OPS") == []
        await bot.driver.pick(view, modals.CHANNEL, "C0OPS")
        answer = await bot.driver.submit(view)
        assert answer.json()["response_action"] == "update"
        plan = await fake_slack.wait_for_message(
            lambda m: "only approvers can approve" in all_text(m), timeout=30)
        assert plan["channel"] == "C0OPS" and f"<@{USER}>" in all_text(plan)


async def test_home_buttons_respect_the_gate(fake_slack: FakeSlack) -> None:
    """Only allowed users: another user's Scan now, Top VMs and Propose fix are refused (a
    sentence in their messages with the bot), and nothing is scanned or opened for them."""
    access = SlackAccess(allowed_users=(USER,))
    async with home_bot(fake_slack, access) as bot:
        await open_home(bot, "U0NOBODY")
        scans = len(fake_slack.calls_to("chat.update"))
        for action in (HOME_SCAN, f"{HOME_TOP}_0", f"{HOME_FIX}_0"):
            before = len(dms(bot, "U0NOBODY"))
            await bot.driver.click_home(action, user_id="U0NOBODY")
            await fake_slack.wait_until(lambda b=before: len(dms(bot, "U0NOBODY")) > b or None,
                                        10, f"the refusal of {action}")
            said = dms(bot, "U0NOBODY")[-1]
            assert said["text"] == messages.slack_refused()
        await bot.runtime.drain()
        assert fake_slack.calls_to("views.open") == []
        assert len(fake_slack.calls_to("chat.update")) == scans
