"""Summaries with direction: each summary compares with the previous period of the same
length (hosts at risk then and now, incidents, handles freed by done remediations, the
riskiest host's trend) and says in one sentence whether things got better or worse: in the
engine, the console, JSON, and a Slack summary posted through the fake Slack."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from bot.assess import Thresholds
from bot.console.output import emit
from bot.history.alerts import process_snapshots
from bot.history.summary import PERIODS, SummaryResult, build_summary
from bot.slack.views.summary import summary_message
from bot.store import NewRequest, State, Store
from tests import fakeslack
from tests.fakeslack import FakeSlack
from tests.slack_helpers import all_text, assert_every_message_valid
from tests.test_history_helpers import T0, pct, snap
from tests.test_slack_alerts import HistoryBot, history_bot

fake_slack = fakeslack.fake_slack
TH = Thresholds()
NOW = T0 + timedelta(days=3)
DAY = PERIODS["24h"]


async def scans(store: Store, start: datetime, loads: dict[str, float]) -> None:
    """Hourly scans for a day from `start`, at the given loads, through the alert logic."""
    for h in range(24):
        at = start + timedelta(hours=h, minutes=30)
        await process_snapshots(store, [snap(name, at, pct(p)) for name, p in loads.items()],
                                TH, at)


async def done_migration(store: Store, handles: int, at: datetime) -> None:
    plan = {"host": "h1", "title": "Migrate h1-vm0", "notes": [], "steps": [
        {"kind": "migrate", "host": "h1", "vm": "h1-vm0", "target": "h3", "handles": handles,
         "reason": "r", "effect": "e"}]}
    request = await store.create(NewRequest("migrate", "h1-vm0", "h1", {"plan": plan},
                                            "U_ALICE", at + timedelta(minutes=30), "C_OPS"),
                                 now=at)
    await store.transition(request.id, State.PROPOSED, State.APPROVED, actor="U_BOB", now=at,
                           approved_by="U_BOB")
    await store.transition(request.id, State.APPROVED, State.RUNNING, actor="U_BOB", now=at)
    await store.transition(request.id, State.RUNNING, State.SUCCEEDED, actor="aio-bot", now=at)


async def test_a_better_day_says_so(store: Store) -> None:
    yesterday, today = NOW - timedelta(days=2), NOW - timedelta(days=1)
    await scans(store, yesterday, {"h1": 95, "h2": 86, "h3": 40})
    await done_migration(store, 3000, today + timedelta(hours=1))
    await scans(store, today, {"h1": 84, "h2": 60, "h3": 49})
    result = await build_summary(store, TH, DAY, NOW)
    cmp = result.comparison
    assert cmp is not None
    assert (cmp.at_risk_then, cmp.at_risk_now) == (2, 1)
    assert (cmp.freed_then, cmp.freed_now, cmp.done_now) == (0, 3000, 1)
    assert cmp.incidents_then >= 1
    assert (cmp.riskiest, round(cmp.riskiest_then or 0), round(cmp.riskiest_now or 0)) == (
        "h1", 95, 84)
    assert cmp.direction == "better"
    sentence = cmp.sentence(DAY.label)
    assert sentence.startswith("Better than the previous 24 hours: 1 host at risk (was 2)")
    assert "3,000 handles freed by 1 remediation (was 0)" in sentence
    assert "riskiest h1 95% → 84%" in sentence

    # the console, JSON and the Slack view say the same sentence
    assert sentence in emit(result, "table")
    compared = json.loads(emit(result, "json"))["compared"]
    assert compared["direction"] == "better" and compared["hosts_at_risk"] == {"then": 2,
                                                                               "now": 1}
    message = summary_message(result, "U_ALICE", "summary")
    assert sentence in all_text(message.body()) and sentence in message.text


async def test_a_worse_day_says_so(store: Store) -> None:
    yesterday, today = NOW - timedelta(days=2), NOW - timedelta(days=1)
    await scans(store, yesterday, {"h1": 70, "h2": 50, "h3": 40})
    await scans(store, today, {"h1": 93, "h2": 83, "h3": 40})
    result = await build_summary(store, TH, DAY, NOW)
    assert result.comparison is not None and result.comparison.direction == "worse"
    sentence = result.comparison.sentence(DAY.label)
    assert sentence.startswith("Worse than the previous 24 hours: 2 hosts at risk (was 0)")
    assert "riskiest h1 70% → 93%" in sentence


async def test_no_history_before_the_period_says_there_is_nothing_to_compare(
        store: Store) -> None:
    await scans(store, NOW - timedelta(days=1), {"h1": 93})
    result: SummaryResult = await build_summary(store, TH, DAY, NOW)
    assert result.comparison is not None and result.comparison.direction == "unknown"
    assert result.comparison.sentence(DAY.label).startswith(
        "Nothing was stored for the previous 24 hours")


async def test_a_slack_summary_shows_the_change(fake_slack: FakeSlack) -> None:
    """The demo fleet's hosts at lower loads yesterday, a background scan now: `/aio summary`
    in Slack says it is worse than the previous 24 hours, with the numbers."""
    async with fakeslack_history(fake_slack) as (b, store):
        now = datetime.now(UTC)
        latest = await store.latest_snapshots()
        yesterday = [snap(s.host, now - timedelta(hours=30), pct(30), cluster=s.cluster)
                     for s in latest]
        await store.add_snapshots(yesterday)
        await b.served.driver.slash("/aio", "summary")
        message = await fake_slack.wait_for_message(
            lambda m: "Fleet summary" in all_text(m), timeout=30)
        text = all_text(message)
        assert "Worse than the previous 24 hours" in text and "at risk (was 0)" in text
    assert_every_message_valid(fake_slack)


@asynccontextmanager
async def fakeslack_history(fake: FakeSlack) -> AsyncIterator[tuple[HistoryBot, Store]]:
    """history_bot with one background scan stored, and its store."""
    async with history_bot(fake) as b:
        await b.jobs.scan(datetime.now(UTC))
        yield b, b.jobs.store
