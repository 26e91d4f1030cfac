"""`/aio summary 7d` over a stored history, and the scheduled digest, with the demo fleet and
the fake Slack: the numbers posted equal what the store holds (counted here from the store's
own records), the chart is a real PNG in the message's thread, and the digest fires at its
time, once, even with two schedulers on one store."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest_asyncio

from bot.esx.collect import scan_hosts
from bot.esx.report import HostReport
from bot.history.seed import seed_history
from bot.history.settings import HistorySettings
from bot.history.snapshot import snapshots_of
from bot.history.summary import PERIODS
from bot.slack.handlers.history_jobs import HistoryJobs
from bot.slack.web.client import make_client
from bot.store import NewRequest, State, Store
from tests import fakeslack
from tests.fakeslack import FakeSlack
from tests.slack_helpers import BOT_TOKEN, all_text, assert_every_message_valid, table_rows
from tests.test_slack_alerts import SUMMARIES, HistoryBot, history_bot

fake_slack = fakeslack.fake_slack
CHANNEL = "C0OPS"  # where the driver's slash commands come from
PNG = b"\x89PNG\r\n\x1a\n"
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
ASKED = NOW + timedelta(minutes=1)  # the runtime's clock when `/aio summary` runs


@pytest_asyncio.fixture
async def bot(fake_slack: FakeSlack) -> AsyncIterator[HistoryBot]:
    async with history_bot(fake_slack, clock=lambda: ASKED) as b:
        yield b
    assert_every_message_valid(fake_slack)


async def seed(bot: HistoryBot) -> Store:
    """A week of hourly scans ending at NOW (simulated from the fleet's current readings,
    through the alert logic), and remediations: done, failed, pending, rejected."""
    store = bot.jobs.store
    outcomes = await scan_hosts(bot.runtime.transport, list(bot.runtime.inventory), now=NOW)
    current = snapshots_of([o for o in outcomes if isinstance(o, HostReport)], NOW)
    await seed_history(store, current, PERIODS["7d"], bot.runtime.thresholds, NOW)

    def new(host: str, kind: str, who: str) -> NewRequest:
        return NewRequest(kind, f"{host}-vm", host, {}, who, ASKED + timedelta(minutes=30),
                          CHANNEL)

    t = NOW - timedelta(days=2)
    done = await store.create(new("host01", "migrate", "U0OPERATOR"), now=t)
    await store.transition(done.id, State.PROPOSED, State.APPROVED, actor="U0ALICE", now=t,
                           approved_by="U0ALICE")
    await store.transition(done.id, State.APPROVED, State.RUNNING, actor="U0ALICE", now=t)
    await store.transition(done.id, State.RUNNING, State.SUCCEEDED, actor="aio-bot", now=t)
    failed = await store.create(new("host05", "reboot", "U0OPERATOR"), now=t)
    await store.transition(failed.id, State.PROPOSED, State.APPROVED, actor="U0BOB", now=t)
    await store.transition(failed.id, State.APPROVED, State.FAILED, actor="aio-bot", now=t)
    await store.create(new("host03", "raise-limit", "U0CAROL"), now=NOW)
    rejected = await store.create(new("host02", "migrate", "U0CAROL"), now=t)
    await store.transition(rejected.id, State.PROPOSED, State.REJECTED, actor="U0BOB", now=t)
    return store


async def expected(store: Store, since: datetime, until: datetime) -> dict[str, Any]:
    """The figures the summary must show, counted from the store's records."""
    latest = [s for s in await store.latest_snapshots() if s.at >= since]
    risk: dict[str, str] = {}
    for s in latest:
        pct = 100.0 * s.in_use / s.runtime_limit
        risk[s.host] = ("critical" if pct >= 90 else
                        "warning" if pct >= 80 or s.fds_warnings else "ok")
    per_cluster: dict[str, Counter[str]] = {}
    for s in latest:
        per_cluster.setdefault(s.cluster or "-", Counter())[risk[s.host]] += 1
    alerts = await store.alerts(since, until)
    states = Counter(r.state for r in await store.requests())
    return {
        "hosts": len(latest),
        "risk": Counter(risk.values()),
        "clusters": per_cluster,
        "incidents": len(alerts),
        "open": sum(1 for a in alerts if a.resolved_at is None),
        "done": states[State.SUCCEEDED],
        "pending": states[State.PROPOSED] + states[State.APPROVED] + states[State.RUNNING],
        "failed": states[State.FAILED],
        "closed": states[State.REJECTED] + states[State.EXPIRED] + states[State.CANCELLED],
        "reboot": sorted(s.host for s in latest
                         if s.configured_limit and s.configured_limit > s.runtime_limit),
        "snapshots": len(await store.snapshots(since=since, until=until)),
    }


def is_summary(message: dict[str, Any]) -> bool:
    return "Fleet summary" in all_text(message) and not message.get("thread_ts")


async def test_summary_7d_posts_the_stores_numbers_and_the_chart(bot: HistoryBot) -> None:
    store = await seed(bot)
    ack = await bot.served.driver.slash("/aio", "summary 7d")
    assert ack.status == 200
    message = await bot.fake.wait_for_message(is_summary, timeout=30)
    upload = await bot.fake.wait_for_call("files.completeUploadExternal", timeout=30)
    await bot.runtime.drain()
    want = await expected(store, ASKED - timedelta(days=7), ASKED)
    text = all_text(message)
    r = want["risk"]
    assert want["hosts"] == 8 and r["critical"] >= 1 and want["incidents"] >= 3
    assert (f"*Hosts now: {want['hosts']}* · :red_circle: *{r['critical']}* critical · "
            f":large_yellow_circle: *{r['warning']}* warning · :large_green_circle: "
            f"*{r['ok']}* ok") in text
    rows = table_rows(message)
    assert rows[0] == ["cluster", "critical", "warning", "ok", "hosts"]
    assert {row[0]: [int(c) for c in row[1:]] for row in rows[1:]} == {
        name: [c["critical"], c["warning"], c["ok"], sum(c.values())]
        for name, c in want["clusters"].items()}
    assert (f"*Incidents in the period: {want['incidents']}* ({want['open']} still open)"
            in text)
    assert (f"{want['done']} done · {want['pending']} pending · {want['failed']} failed · "
            f"0 need review (interrupted) · {want['closed']} rejected/expired/withdrawn") in text
    assert (want["done"], want["pending"], want["failed"], want["closed"]) == (1, 1, 1, 1)
    assert "approved by <@U0ALICE>" in text and "approved by <@U0BOB>" in text
    assert want["reboot"] == ["host03"] and "*host03* (65,536 configured" in text
    assert f"{want['snapshots']:,} snapshots" in text

    [record] = bot.fake.files.values()
    assert record.data is not None and record.data[:8] == PNG
    assert 10_000 < len(record.data) < 2_000_000
    assert record.filename == "aio-summary-7d.png"
    assert record.channels == [CHANNEL] and record.thread_ts == message["ts"]
    assert "last 7 days" in (record.initial_comment or "")
    assert upload.args.get("thread_ts") == message["ts"]


async def test_the_digest_fires_at_its_time_once_across_two_schedulers(
        fake_slack: FakeSlack) -> None:
    due = (NOW + timedelta(days=1)).replace(hour=9, minute=0)
    clock = [due - timedelta(minutes=1)]
    settings = HistorySettings(digest_cron="0 9 * * *", digest_period="24h")
    async with history_bot(fake_slack, history=settings, clock=lambda: clock[0]) as b:
        await seed(b)
        other = HistoryJobs(b.runtime, make_client(BOT_TOKEN, fake_slack.api_url))
        replicas = [b.jobs.scheduler(holder="replica-a"), other.scheduler(holder="replica-b")]
        for s in replicas:
            s.start()
        assert all(s.next_wakeup() == due for s in replicas)
        assert await asyncio.gather(*(s.run_pending() for s in replicas)) == [[], []]

        async def digests_at(now: datetime) -> list[datetime]:
            clock[0] = now
            ran = await asyncio.gather(*(s.run_pending() for s in replicas))
            return [fire for done in ran for name, fire in done if name == "digest"]

        assert await digests_at(due) == [due]  # one replica posts it, the other skips
        assert await digests_at(due + timedelta(minutes=1)) == []
        assert await digests_at(due + timedelta(hours=23, minutes=59)) == []

        posts = [c.args for c in fake_slack.calls_to("chat.postMessage")
                 if c.args.get("channel") == SUMMARIES]
        assert len(posts) == 1
        [message] = [m for m in fake_slack.messages(SUMMARIES) if is_summary(m)]
        text = all_text(message)
        assert "last 24 hours" in text and "Scheduled digest" in text and "0 9 * * *" in text
        [record] = fake_slack.files.values()
        assert record.data is not None and record.data[:8] == PNG
        assert record.channels == [SUMMARIES] and record.thread_ts == message["ts"]
        assert await b.jobs.store.last_firing("digest") == due
    assert_every_message_valid(fake_slack)


async def test_summary_without_a_store_says_so(fake_slack: FakeSlack) -> None:
    from tests.slack_helpers import demo_runtime, served

    async with demo_runtime() as runtime, served(fake_slack, runtime) as s:
        await s.driver.slash("/aio", "summary")
        answer = await fake_slack.wait_for_response(timeout=10)
        assert "needs the store" in all_text(answer.body)
