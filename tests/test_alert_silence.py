"""Alerts you can silence, through the fake Slack: Acknowledge (who, when; an escalation no
longer pings the thread), Snooze 1 h / until resolved (no edits while snoozed), the buttons
behind the one gate, maintenance mode, and Alertmanager's webhook running `check` into the
incident thread as a read-only service identity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from bot.config import SlackAccess
from bot.sim import ops
from bot.slack.handlers.alertmanager import webhook
from bot.slack.views.alert import ACKNOWLEDGE
from bot.slack.web.client import make_client
from bot.slack.web.server import start_site, web_app
from commands.catalog import build_registry
from tests import fakeslack
from tests.fakeslack import FakeSlack
from tests.slack_helpers import BOT_TOKEN, all_text, assert_every_message_valid
from tests.test_slack_alerts import (
    INCIDENTS,
    HistoryBot,
    action_ids,
    history_bot,
    load_host07,
    updates_of,
)

fake_slack = fakeslack.fake_slack
SNOOZE_1H, SNOOZE_RESOLVED = "alert_snooze_1h", "alert_snooze_resolved"
TOKEN = "alertmanager-token-0123456789"


async def open_host07(bot: HistoryBot, t0: datetime) -> tuple[str, dict[str, Any]]:
    """host07 at warning: its incident's message ts and the message."""
    await bot.jobs.scan(t0)
    load_host07(bot, 5500)
    await bot.jobs.scan(t0 + timedelta(minutes=5))
    alert = await bot.jobs.store.active_alert("host07")
    assert alert is not None and alert.message_ts
    [message] = [m for m in bot.fake.messages(INCIDENTS) if m["ts"] == alert.message_ts]
    return alert.message_ts, message


def thread(bot: HistoryBot, ts: str) -> list[dict[str, Any]]:
    return [m for m in bot.fake.messages(INCIDENTS) if m.get("thread_ts") == ts]


def current(bot: HistoryBot, ts: str) -> dict[str, Any]:
    [message] = [m for m in bot.fake.messages(INCIDENTS) if m["ts"] == ts]
    return message


async def test_an_escalation_nobody_acknowledged_pings_the_thread(fake_slack: FakeSlack) -> None:
    async with history_bot(fake_slack) as bot:
        t0 = datetime.now(UTC).replace(microsecond=0)
        ts, _ = await open_host07(bot, t0)
        load_host07(bot, 6100)  # critical
        await bot.jobs.scan(t0 + timedelta(minutes=10))
        assert len(updates_of(bot.fake, ts)) == 1
        assert any("now CRITICAL" in all_text(m) for m in thread(bot, ts))
    assert_every_message_valid(fake_slack)


async def test_acknowledge_button_says_who_and_stops_the_pings(fake_slack: FakeSlack) -> None:
    async with history_bot(fake_slack) as bot:
        t0 = datetime.now(UTC).replace(microsecond=0)
        ts, message = await open_host07(bot, t0)
        assert (await bot.served.driver.click(message, ACKNOWLEDGE, user_id="U0BOB")).status == 200
        await bot.fake.wait_for_call(
            "chat.update", lambda c: c.args.get("ts") == ts
            and "Acknowledged by <@U0BOB>" in all_text(c.args), timeout=10)
        await bot.fake.wait_for_message(
            lambda m: m.get("thread_ts") == ts and "acknowledged" in all_text(m), timeout=10)
        assert ACKNOWLEDGE not in action_ids(current(bot, ts))
        trail = await bot.jobs.store.audit_trail(host="host07")
        assert [(e.actor, e.event) for e in trail][-1] == ("U0BOB", "alert-acknowledged")

        edits = len(updates_of(bot.fake, ts))
        load_host07(bot, 6100)  # critical: the message is edited, nobody is pinged
        [update] = [d for d in await bot.jobs.scan(t0 + timedelta(minutes=10))
                    if d.host == "host07"]
        assert update.kind == "update" and len(updates_of(bot.fake, ts)) == edits + 1
        text = all_text(current(bot, ts))
        assert "host07 · CRITICAL" in text and "Acknowledged by <@U0BOB>" in text
        assert not any("now CRITICAL" in all_text(m) for m in thread(bot, ts))
    assert_every_message_valid(fake_slack)


async def test_snooze_one_hour_then_until_resolved(fake_slack: FakeSlack) -> None:
    async with history_bot(fake_slack) as bot:
        t0 = datetime.now(UTC).replace(microsecond=0)
        ts, message = await open_host07(bot, t0)
        await bot.served.driver.click(message, SNOOZE_1H, user_id="U0BOB")
        await bot.fake.wait_for_call(
            "chat.update", lambda c: c.args.get("ts") == ts
            and "Snoozed until" in all_text(c.args), timeout=10)
        edits = len(updates_of(bot.fake, ts))

        load_host07(bot, 6100)  # critical within the hour: stored, not shown
        [update] = [d for d in await bot.jobs.scan(t0 + timedelta(minutes=10))
                    if d.host == "host07"]
        assert update.kind == "update" and len(updates_of(bot.fake, ts)) == edits
        assert not any("now CRITICAL" in all_text(m) for m in thread(bot, ts))

        load_host07(bot, 6400)  # after the hour: edited again
        await bot.jobs.scan(t0 + timedelta(minutes=80))
        assert len(updates_of(bot.fake, ts)) == edits + 1
        assert "Snoozed" not in all_text(current(bot, ts))

        await bot.served.driver.click(current(bot, ts), SNOOZE_RESOLVED, user_id="U0BOB")
        await bot.fake.wait_for_call(
            "chat.update", lambda c: c.args.get("ts") == ts
            and "Snoozed until it resolves" in all_text(c.args), timeout=10)
        edits = len(updates_of(bot.fake, ts))
        load_host07(bot, 5500)  # back to warning: not shown
        await bot.jobs.scan(t0 + timedelta(minutes=85))
        assert len(updates_of(bot.fake, ts)) == edits
        for vm in ("vdi-eng-059", "vdi-eng-060", "vdi-eng-061", "vdi-eng-062"):
            ops.migrate_vm(bot.fleet.host_dirs["host07"], bot.fleet.host_dirs["host04"], vm)
        [resolved] = [d for d in await bot.jobs.scan(t0 + timedelta(minutes=90))
                      if d.host == "host07"]
        assert resolved.kind == "resolve" and len(updates_of(bot.fake, ts)) == edits + 1
        assert "Resolved · host07" in all_text(current(bot, ts))
    assert_every_message_valid(fake_slack)


async def test_the_buttons_pass_the_gate(fake_slack: FakeSlack) -> None:
    async with history_bot(fake_slack) as bot:
        ts, message = await open_host07(bot, datetime.now(UTC).replace(microsecond=0))
        bot.runtime.gate.access = SlackAccess(allowed_users=("U0BOB",),
                                              incident_channel=INCIDENTS)
        response = await bot.served.driver.click(message, ACKNOWLEDGE, user_id="U0MALLORY")
        assert response.status == 200
        post = await bot.fake.wait_for_response(timeout=10)
        assert post.body["response_type"] == "ephemeral" and "Sorry" in post.body["text"]
        await bot.runtime.drain()
        assert "Acknowledged" not in all_text(current(bot, ts))
        alert = await bot.jobs.store.active_alert("host07")
        assert alert is not None and "silence" not in alert.last_state


async def test_a_host_in_maintenance_mode_alerts_only_when_critical(
        fake_slack: FakeSlack) -> None:
    async with history_bot(fake_slack) as bot:
        t0 = datetime.now(UTC).replace(microsecond=0)
        await bot.jobs.scan(t0)
        ops.set_maintenance(bot.fleet.host_dirs["host07"], True, force=True)
        load_host07(bot, 5500)  # warning, in maintenance: quiet
        decisions = await bot.jobs.scan(t0 + timedelta(minutes=5))
        assert [d for d in decisions if d.host == "host07"] == []
        assert await bot.jobs.store.active_alert("host07") is None
        load_host07(bot, 6100)  # critical: alerts even in maintenance
        [opened] = [d for d in await bot.jobs.scan(t0 + timedelta(minutes=10))
                    if d.host == "host07"]
        assert (opened.kind, opened.level.value) == ("open", "critical")


async def test_alertmanager_webhook_checks_into_the_incident_thread(
        fake_slack: FakeSlack) -> None:
    async with history_bot(fake_slack) as bot:
        ts, _ = await open_host07(bot, datetime.now(UTC).replace(microsecond=0))
        client = make_client(BOT_TOKEN, fake_slack.api_url)
        hook = webhook(bot.runtime, build_registry(), client, TOKEN, "alertmanager")
        runner = await start_site(web_app(bot.runtime, None, alertmanager=hook),
                                  "127.0.0.1", 0)
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/alertmanager"
        payload = {"version": "4", "status": "firing", "alerts": [
            {"status": "firing", "labels": {"alertname": "AioHandles", "host": "host07"}},
            {"status": "firing", "labels": {"alertname": "AioHandles",
                                            "instance": "nowhere:9100"}}]}
        try:
            async with aiohttp.ClientSession() as session:
                async with session.post(url, json=payload) as refused:
                    assert refused.status == 401
                async with session.post(url, json=payload, headers={
                        "Authorization": "Bearer wrong-token-0123456789"}) as wrong:
                    assert wrong.status == 401
                async with session.post(url, json=payload, headers={
                        "Authorization": f"Bearer {TOKEN}"}) as accepted:
                    assert accepted.status == 202
                    assert await accepted.json() == {"status": "accepted", "hosts": ["host07"],
                                                     "unknown_hosts": 1}
            answer = await fake_slack.wait_for_message(
                lambda m: m.get("thread_ts") == ts and "host07" in all_text(m)
                and "check host07" in all_text(m), timeout=20)
            assert answer["channel"] == INCIDENTS
        finally:
            await bot.runtime.drain()
            await runner.cleanup()
        assert 'aio_bot_alertmanager_alerts_total{outcome="checked"} 1.0' in \
            bot.runtime.metrics.render()
