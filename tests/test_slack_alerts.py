"""Alerts in the incident channel, with the demo fleet and the fake Slack: a host driven over
the threshold gets exactly one message, edited in place on the next scans (only when
something changed) and marked resolved after its load is migrated away. Scans are driven by
calling the scan job with a chosen `now`: no sleeps, no scheduler."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio

from bot.config import SlackAccess, parse_config
from bot.demo import DemoFleet, demo_config
from bot.history.settings import HistorySettings
from bot.sim import ops
from bot.slack.handlers.history_jobs import HistoryJobs, start_history
from bot.slack.runtime import Runtime
from bot.slack.views.alert import ACKNOWLEDGE, SNOOZES, TOP_VMS
from bot.slack.views.top import PROPOSE_FIX
from bot.slack.web.client import make_client
from tests import fakeslack
from tests.fakeslack import FakeSlack
from tests.slack_helpers import (
    APPROVERS,
    BOT_TOKEN,
    SECRET,
    Served,
    all_text,
    assert_every_message_valid,
    served,
)

fake_slack = fakeslack.fake_slack
INCIDENTS = "C0INCIDENT"
SUMMARIES = "C0SUMMARY"
ROOT = Path(__file__).resolve().parent.parent
HOST07_VMS = [f"vdi-eng-{n:03d}" for n in range(59, 64)]


@dataclass
class HistoryBot:
    served: Served
    fleet: DemoFleet
    jobs: HistoryJobs

    @property
    def fake(self) -> FakeSlack:
        return self.served.fake

    @property
    def runtime(self) -> Runtime:
        return self.served.runtime


@asynccontextmanager
async def history_bot(fake: FakeSlack, *, history: HistorySettings | None = None,
                      clock: Any = None) -> AsyncIterator[HistoryBot]:
    """The demo fleet behind the served app, with remediation (approvers APPROVERS), an
    incident and a summary channel, and the history jobs on the app's store."""
    config = demo_config(APPROVERS, access=SlackAccess(incident_channel=INCIDENTS,
                                                       summary_channel=SUMMARIES),
                         history=history or HistorySettings())
    async with DemoFleet(config=config) as fleet:
        runtime = Runtime(fleet.services)
        if clock is not None:
            runtime.clock = clock
        try:
            async with served(fake, runtime) as s:
                yield HistoryBot(s, fleet, HistoryJobs(runtime, make_client(BOT_TOKEN,
                                                                            fake.api_url)))
        finally:
            await runtime.close()


@pytest_asyncio.fixture
async def bot(fake_slack: FakeSlack) -> AsyncIterator[HistoryBot]:
    async with history_bot(fake_slack) as b:
        yield b
    assert_every_message_valid(fake_slack)


def top_level_posts(fake: FakeSlack, channel: str, host: str) -> list[dict[str, Any]]:
    """chat.postMessage calls that started a message (not a thread reply) about `host`."""
    return [c.args for c in fake.calls_to("chat.postMessage")
            if c.args.get("channel") == channel and not c.args.get("thread_ts")
            and host in str(c.args.get("text"))]


def updates_of(fake: FakeSlack, ts: str) -> list[dict[str, Any]]:
    return [c.args for c in fake.calls_to("chat.update") if c.args.get("ts") == ts]


def action_ids(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions"
            for e in b["elements"]]


def load_host07(bot: HistoryBot, vmgfx: int) -> None:
    for vm in HOST07_VMS:
        ops.set_vm_handles(bot.fleet.host_dirs["host07"], vm, vmgfx)


async def test_one_message_per_incident_updated_in_place_then_resolved(bot: HistoryBot) -> None:
    fake, store = bot.fake, bot.jobs.store
    t0 = datetime.now(UTC).replace(microsecond=0)
    first = await bot.jobs.scan(t0)  # the demo fleet as it is: host07 quiet
    assert {d.host for d in first} == {"host01", "host03", "host05"}
    assert all(d.kind == "open" for d in first)
    assert top_level_posts(fake, INCIDENTS, "host07") == []

    load_host07(bot, 5500)  # about 84 % of 32,768: warning
    [opened] = [d for d in await bot.jobs.scan(t0 + timedelta(minutes=5)) if d.host == "host07"]
    assert (opened.kind, opened.level.value) == ("open", "warning")
    [post] = top_level_posts(fake, INCIDENTS, "host07")
    alert = await store.get_alert(opened.alert.id)
    assert alert is not None and alert.channel == INCIDENTS and alert.message_ts
    ts = alert.message_ts
    [message] = [m for m in fake.messages(INCIDENTS) if m["ts"] == ts]
    text = all_text(message)
    assert "host07 · WARNING" in text and "Forecast" in text
    assert action_ids(message) == [TOP_VMS, PROPOSE_FIX, ACKNOWLEDGE, *SNOOZES]
    assert "host07 is WARNING" in post["text"]

    load_host07(bot, 6100)  # about 93 %: critical, the same message is edited
    [updated] = [d for d in await bot.jobs.scan(t0 + timedelta(minutes=10))
                 if d.host == "host07"]
    assert updated.kind == "update" and updated.alert.id == opened.alert.id
    assert len(updates_of(fake, ts)) == 1
    [message] = [m for m in fake.messages(INCIDENTS) if m["ts"] == ts]
    text = all_text(message)
    assert "host07 · CRITICAL" in text and "level warning → critical" in text

    quiet = await bot.jobs.scan(t0 + timedelta(minutes=15))  # nothing moved: no edit
    assert [d for d in quiet if d.host == "host07"] == []
    assert len(updates_of(fake, ts)) == 1

    await bot.served.driver.click(message, TOP_VMS, user_id="U0BOB")
    top = await fake.wait_for_message(
        lambda m: m.get("thread_ts") == ts and any(b["type"] == "table"
                                                   for b in m.get("blocks", [])), timeout=10)
    assert "vdi-eng-0" in all_text(top) and "<@U0BOB>" in all_text(top)

    for vm in HOST07_VMS[:4]:  # the load moves to host04 (A100, room)
        ops.migrate_vm(bot.fleet.host_dirs["host07"], bot.fleet.host_dirs["host04"], vm)
    [resolved] = [d for d in await bot.jobs.scan(t0 + timedelta(minutes=20))
                  if d.host == "host07"]
    assert resolved.kind == "resolve"
    assert len(updates_of(fake, ts)) == 2
    [message] = [m for m in fake.messages(INCIDENTS) if m["ts"] == ts]
    assert "Resolved · host07" in all_text(message) and action_ids(message) == []
    note = [m for m in fake.messages(INCIDENTS)
            if m.get("thread_ts") == ts and "Resolved" in m["text"] + all_text(m)]
    assert len(note) == 1
    assert len(top_level_posts(fake, INCIDENTS, "host07")) == 1  # never re-posted
    assert (await store.get_alert(opened.alert.id)).resolved_at is not None  # type: ignore[union-attr]

    await bot.jobs.scan(t0 + timedelta(minutes=25))  # stays quiet: nothing more
    assert len(top_level_posts(fake, INCIDENTS, "host07")) == 1
    assert len(updates_of(fake, ts)) == 2


async def test_the_alerts_propose_fix_button_posts_a_plan(bot: HistoryBot) -> None:
    await bot.jobs.scan(datetime.now(UTC))
    alert = await bot.jobs.store.active_alert("host01")
    assert alert is not None and alert.message_ts
    [message] = [m for m in bot.fake.messages(INCIDENTS) if m["ts"] == alert.message_ts]
    await bot.served.driver.click(message, PROPOSE_FIX, user_id="U0BOB")
    plan = await bot.fake.wait_for_message(
        lambda m: "only approvers can approve" in all_text(m), timeout=20)
    assert plan["channel"] == INCIDENTS and "Proposed by <@U0BOB>" in all_text(plan)


async def test_without_an_incident_channel_incidents_are_stored_not_posted(
        fake_slack: FakeSlack) -> None:
    async with history_bot(fake_slack) as b:
        b.jobs.alerts.channel = None
        decisions = await b.jobs.scan(datetime.now(UTC))
        assert decisions and all(d.alert.message_ts is None for d in decisions)
        assert fake_slack.calls_to("chat.postMessage") == []


async def test_serve_demo_with_scan_every_posts_alerts(fake_slack: FakeSlack) -> None:
    """`aio-bot serve --demo --scan-every 1 --incident-channel …`: the scheduler scans in the
    background and the incidents reach the channel, one message each."""
    env = {**os.environ, "SLACK_API_URL": fake_slack.api_url, "SLACK_BOT_TOKEN": BOT_TOKEN,
           "SLACK_SIGNING_SECRET": SECRET}
    env.pop("AIO_BOT_INCIDENT_CHANNEL", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--demo", "--host", "127.0.0.1", "--port", "0",
        "--scan-every", "1", "--incident-channel", INCIDENTS, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        first = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        second = (await asyncio.wait_for(proc.stdout.readline(), 10)).decode()
        assert first.startswith("aio-bot: serving") and "scans every 1 s" in second
        await fake_slack.wait_for_message(
            lambda m: m.get("channel") == INCIDENTS and "host01 · CRITICAL" in all_text(m),
            timeout=30)
    finally:
        proc.terminate()
        _, stderr = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 0, stderr.decode()
    assert "Traceback" not in stderr.decode()
    assert len(top_level_posts(fake_slack, INCIDENTS, "host01")) == 1
    assert_every_message_valid(fake_slack)


async def test_the_runtime_starts_the_scheduler_only_when_configured(
        fake_slack: FakeSlack) -> None:
    client = make_client(BOT_TOKEN, fake_slack.api_url)
    async with history_bot(fake_slack) as b:
        assert start_history(b.runtime, client) is None and b.runtime.scheduler is None
    wanted = parse_config({"history": {"scan_interval_minutes": 5, "digest_cron": "0 9 * * 1-5",
                                       "digest_period": "7d"}}, base=ROOT).history
    assert wanted.scan_interval == timedelta(minutes=5) and wanted.digest_period == "7d"
    async with history_bot(fake_slack, history=wanted) as b:
        scheduler = start_history(b.runtime, client)
        assert scheduler is not None and b.runtime.scheduler is scheduler
        assert [j.name for j in scheduler.jobs] == ["scan", "digest", "prune"]
        task = b.runtime._scheduler_task
        assert task is not None and not task.done()
        await b.runtime.close()
        assert task.done() and b.runtime._scheduler_task is None
