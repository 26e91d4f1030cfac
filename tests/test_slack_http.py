"""The real app over HTTP on 127.0.0.1, driven by signed requests, against FakeSlack and the
demo fleet behind real SSH."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from bot.esx.collect import collect_host
from bot.slack.views.top import PROPOSE_FIX, REFRESH
from tests import fakeslack
from tests.fakeslack import ACK_DEADLINE, FakeSlack
from tests.slack_helpers import (
    Served,
    all_text,
    assert_every_message_valid,
    demo_runtime,
    served,
    table_rows,
)

fake_slack = fakeslack.fake_slack
CHANNEL = "C0OPS"


@pytest_asyncio.fixture
async def bot(fake_slack: FakeSlack) -> AsyncIterator[Served]:
    async with demo_runtime() as runtime, served(fake_slack, runtime) as s:
        yield s
    assert_every_message_valid(fake_slack)


def is_top(message: dict[str, Any]) -> bool:
    return any(b["type"] == "table" for b in message.get("blocks", []))


async def test_top_is_acked_at_once_and_posts_the_ranked_table(bot: Served) -> None:
    ack = await bot.driver.slash("/aio", "top host01")
    assert ack.status == 200 and ack.elapsed < ACK_DEADLINE and ack.body == ""

    post = await bot.fake.wait_for_call("chat.postMessage", timeout=10)
    assert post.args["channel"] == CHANNEL and "<@U0OPERATOR>" in post.args["text"]
    [message] = bot.fake.messages(CHANNEL)
    report = await collect_host(bot.runtime.transport, bot.runtime.inventory.get("host01"))
    rows = table_rows(message)
    assert rows[0] == ["#", "VM", "cartel", "world", "vmgfx", "CHAR"]
    expected = [
        [
            str(vm.rank),
            vm.name,
            f"{vm.cartel_id:,}",
            f"{vm.world_id:,}",
            f"{vm.vmgfx_handles:,}",
            f"{vm.char_handles:,}",
        ]
        for vm in report.vms[:20]
    ]
    assert rows[1:] == expected
    text = all_text(message)
    assert "host01 · CRITICAL" in text and "25067014" in text and "not available" in text
    assert "FDS 'No free handles' warnings" in text and "asked by" in text.lower()
    assert "█" in text and f"{report.in_use:,}" in text


async def test_refresh_re_renders_the_message(bot: Served) -> None:
    await bot.driver.slash("/aio", "top host02 limit=5")
    message = await bot.fake.wait_for_message(is_top, timeout=10)
    click = await bot.driver.click(message, REFRESH, user_id="U0OTHER")
    assert click.status == 200 and click.elapsed < ACK_DEADLINE
    await bot.fake.wait_for_response(lambda r: r.body.get("replace_original"), timeout=10)
    [refreshed] = bot.fake.messages(CHANNEL)
    assert refreshed["ts"] == message["ts"] and "edited" in refreshed
    assert "Refreshed by <@U0OTHER>" in all_text(refreshed)
    assert len(table_rows(refreshed)) == 6  # header + limit=5


async def test_propose_fix_without_changes_configured_says_so(bot: Served) -> None:
    await bot.driver.slash("/aio", "top host01")
    message = await bot.fake.wait_for_message(is_top, timeout=10)
    await bot.driver.click(message, PROPOSE_FIX)
    post = await bot.fake.wait_for_response(lambda r: "not set up" in r.body.get("text", ""))
    assert post.body["response_type"] == "ephemeral"
    assert not post.body.get("replace_original")
    assert bot.fake.messages(CHANNEL)[0]["blocks"] == message["blocks"]  # untouched


@pytest.mark.parametrize("kwargs", [{"bad_signature": True}, {"timestamp_offset": -360}])
async def test_unsigned_or_stale_requests_get_401_and_no_call(
    bot: Served, kwargs: dict[str, Any]
) -> None:
    response = await bot.driver.slash("/aio", "top host01", **kwargs)
    assert response.status == 401
    await bot.runtime.drain()
    assert bot.fake.calls == [] and bot.fake.responses == []


async def test_ratelimited_post_is_retried_after_retry_after(bot: Served) -> None:
    bot.fake.fail("chat.postMessage", status=429, retry_after=1)
    await bot.driver.slash("/aio", "top host04")
    await bot.fake.wait_for_message(is_top, timeout=10)
    assert [c.status for c in bot.fake.calls_to("chat.postMessage")] == [429, 200]


async def test_response_url_errors_are_retried(bot: Served) -> None:
    bot.fake.fail_response(status=503, times=2)
    await bot.driver.slash("/aio", "help")
    await bot.fake.wait_for_response(lambda r: r.status == 200, timeout=10)
    assert [r.status for r in bot.fake.responses] == [503, 503, 200]
    help_post = bot.fake.responses[-1].body
    assert help_post["response_type"] == "ephemeral"
    for syntax in ("top &lt;host&gt; [limit=&lt;n&gt;]", "check &lt;host&gt;",
                   "scan [&lt;scope&gt;]", "help"):
        assert syntax in all_text(help_post)


async def test_duplicated_deliveries_run_once(bot: Served) -> None:
    form = {"trigger_id": "13345224609.738474920.8088930838d88f008e0"}
    first = await bot.driver.slash("/aio", "top host07", **form)
    again = await bot.driver.slash("/aio", "top host07", **form)
    assert first.status == again.status == 200
    event = {
        "type": "app_mention",
        "user": "U0OPERATOR",
        "text": "<@U0BOT> check host07",
        "channel": CHANNEL,
        "ts": "1700000000.000100",
        "event_ts": "1700000000.000100",
    }
    await bot.driver.event(event, event_id="Ev0DUP")
    await bot.driver.event(event, event_id="Ev0DUP", retry_num=1, retry_reason="http_timeout")
    await bot.runtime.drain()
    posts = bot.fake.calls_to("chat.postMessage")
    assert len(posts) == 2 and bot.runtime.metrics.duplicates == 2


async def test_mention_answers_in_the_thread(bot: Served) -> None:
    event = {
        "type": "app_mention",
        "user": "U0OPERATOR",
        "text": "<@U0BOT> check host03",
        "channel": CHANNEL,
        "ts": "1700000000.000200",
        "event_ts": "1700000000.000200",
    }
    assert (await bot.driver.event(event)).status == 200
    post = await bot.fake.wait_for_call("chat.postMessage", timeout=10)
    assert post.args["thread_ts"] == "1700000000.000200"
    assert "reboot" in all_text(post.args)


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("top host99", "There is no host `host99`"),
        ("top", "`top` needs a host."),
        ("frobnicate", "I don't know the command `frobnicate`."),
        ("scan nowhere", "There is no cluster `nowhere`."),
    ],
)
async def test_errors_are_one_ephemeral_sentence(bot: Served, words: str, expected: str) -> None:
    await bot.driver.slash("/aio", words)
    post = await bot.fake.wait_for_response(timeout=10)
    assert post.body["response_type"] == "ephemeral"
    assert expected in post.body["text"] and "Traceback" not in all_text(post.body)
    assert bot.fake.calls_to("chat.postMessage") == []


async def test_scan_posts_progress_then_the_ranked_hosts(bot: Served) -> None:
    await bot.driver.slash("/aio", "scan")
    first = await bot.fake.wait_for_call("chat.postMessage", timeout=10)
    assert "Scanning all" in first.args["text"]
    await bot.fake.wait_for_call(
        "chat.update", lambda c: "Scan of all" in c.args["text"], timeout=15
    )
    [message] = bot.fake.messages(CHANNEL)
    rows = table_rows(message)[1:]
    assert rows[0][0] == "host01" and len(rows) == 8
    used = [float(r[2].split()[-1].rstrip("%")) for r in rows]
    assert used == sorted(used, reverse=True)


async def test_healthz_and_metrics(bot: Served) -> None:
    await bot.driver.slash("/aio", "top host99")
    await bot.fake.wait_for_response(timeout=10)
    await bot.runtime.drain()
    import aiohttp

    from bot.slack.web.server import metrics_app, start_site

    own = await start_site(metrics_app(bot.runtime), "127.0.0.1", 0)  # metrics' own port
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(bot.base_url + "/healthz") as health:
                assert health.status == 200 and (await health.json())["hosts"] == 8
            async with session.get(bot.base_url + "/metrics") as public:
                assert public.status == 404  # not on the public Slack port by default
            port = own.addresses[0][1]
            async with session.get(f"http://127.0.0.1:{port}/metrics") as metrics:
                text = await metrics.text()
    finally:
        await own.cleanup()
    assert 'aio_bot_commands_total{command="top",outcome="usage"} 1' in text
    assert 'aio_bot_ack_seconds_bucket{le="+Inf"} 1' in text
    assert "aio_bot_scan_duration_seconds_count 0" in text


async def test_refusal_outside_allowed_channels(fake_slack: FakeSlack) -> None:
    from bot.config import SlackAccess

    access = SlackAccess(allowed_channels=("C0INCIDENT",), allowed_users=("U0OPERATOR",))
    async with demo_runtime(access) as runtime, served(fake_slack, runtime) as s:
        await s.driver.slash("/aio", "top host01", channel_id="C0RANDOM")
        post = await fake_slack.wait_for_response(timeout=10)
        assert post.body["response_type"] == "ephemeral" and "Sorry" in post.body["text"]
        await s.driver.slash("/aio", "top host01", channel_id="C0INCIDENT")
        await fake_slack.wait_for_message(is_top, timeout=10)
    assert fake_slack.calls_to("chat.postMessage")[0].args["channel"] == "C0INCIDENT"


async def test_unreachable_host_is_a_friendly_sentence(fake_slack: FakeSlack) -> None:
    from bot.demo import DemoFleet
    from bot.slack.runtime import Runtime

    async with DemoFleet() as fleet:
        assert fleet.transport is not None
        fleet.fleet.servers["host02"].down = True
        runtime = Runtime(fleet.services)
        async with served(fake_slack, runtime) as s:
            await s.driver.slash("/aio", "check host02")
            post = await fake_slack.wait_for_response(timeout=15)
            await s.driver.slash("/aio", "scan gpu-cluster-a")
            await fake_slack.wait_for_call(
                "chat.update", lambda c: "Scan of gpu-cluster-a" in c.args["text"], timeout=20)
        await runtime.close()
    assert post.body["response_type"] == "ephemeral" and "host02" in post.body["text"]
    answer = all_text(post.body)
    assert "/aio check &lt;host&gt;" in answer and "Traceback" not in answer
    assert "Could not scan 1 host(s)" in all_text(fake_slack.messages(CHANNEL)[-1])
    assert runtime.metrics.ssh_errors == {"check": 1, "scan": 1}
