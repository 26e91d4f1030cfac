"""The small parts: dedupe, response_url retries, metrics, access, progress throttling,
secrets from the environment."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from bot.errors import ConfigError
from bot.esx.collect import HostFailure
from bot.slack.handlers.progress import ScanProgress
from bot.slack.handlers.replies import Posted, SlashReply
from bot.slack.metrics import Metrics
from bot.slack.run import HTTP_NEEDS, require_env
from bot.slack.views.common import Attachment, Message
from bot.slack.views.help import notice_message
from bot.slack.web.client import api_url, make_client, slack_client
from bot.slack.web.dedupe import SeenKeys, delivery_key
from bot.slack.web.poster import ResponsePoster, ResponseUrlError
from tests import fakeslack
from tests.fakeslack import FakeSlack
from tests.slack_helpers import BOT_TOKEN

fake_slack = fakeslack.fake_slack


def test_seen_keys_expire() -> None:
    now = [0.0]
    seen = SeenKeys(ttl=10, clock=lambda: now[0])
    assert seen.first_time("a") and not seen.first_time("a")
    now[0] = 11
    assert seen.first_time("a")
    assert delivery_key({"event_id": "Ev1", "trigger_id": "t"}) == "event:Ev1"
    assert delivery_key({"trigger_id": "t"}) == "trigger:t" and delivery_key({}) is None


async def test_response_url_poster_retries_then_gives_up(fake_slack: FakeSlack) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    poster = ResponsePoster(sleep=sleep)
    url = fake_slack.response_url(channel="C1")
    fake_slack.fail_response(status=429, retry_after=2)
    fake_slack.fail_response(status=500)
    await poster.post(url, {"text": "hi"})
    assert slept == [2.0, 1.0] and [r.status for r in fake_slack.responses] == [429, 500, 200]
    fake_slack.fail_response(status=502, times=4)
    with pytest.raises(ResponseUrlError):
        await poster.post(url, {"text": "again"})
    fake_slack.fail_response(status=400)
    with pytest.raises(ResponseUrlError):  # not retried
        await poster.post(url, {"text": "bad"})
    assert len(fake_slack.responses) == 8
    await poster.close()


def test_metrics_text() -> None:
    metrics = Metrics()
    metrics.command("top", "ok")
    metrics.ssh_error('we"ird')
    metrics.ack.observe(0.004)
    metrics.ack.observe(0.2)
    text = metrics.render()
    assert 'aio_bot_commands_total{command="top",outcome="ok"} 1' in text
    assert 'aio_bot_ssh_errors_total{command="we\\"ird"} 1' in text
    assert 'aio_bot_ack_seconds_bucket{le="0.005"} 1' in text
    assert 'aio_bot_ack_seconds_bucket{le="0.25"} 2' in text
    assert "aio_bot_ack_seconds_count 2" in text


def test_environment() -> None:
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET") as err:
        require_env(HTTP_NEEDS, {"SLACK_BOT_TOKEN": "xoxb-secret-value"})
    assert "xoxb-secret-value" not in str(err.value) and err.value.exit_status == 2
    assert api_url({"SLACK_API_URL": "http://x/api"}) == "http://x/api/"
    assert api_url({}) == "https://slack.com/api/"


class Recorder:
    help_is_private = True

    def __init__(self) -> None:
        self.updates: list[str] = []

    async def public(self, message: Message) -> Posted | None:
        return Posted("C1", "1.1")

    async def update(self, posted: Posted, message: Message) -> None:
        self.updates.append(message.text)

    async def private(self, message: Message) -> None:
        pass


async def test_progress_is_throttled() -> None:
    now = [0.0]
    reply = Recorder()
    progress = ScanProgress(reply, Posted("C1", "1.1"),
                            lambda d, t, f: notice_message(f"{d}/{t} {f}"), 3.0, lambda: now[0])
    outcome: Any = HostFailure("h", "c", "down")
    for done in range(1, 10):
        now[0] = done * 1.0
        await progress(done, 10, outcome)
        await progress.finish()
    assert reply.updates == ["3/10 3", "6/10 6", "9/10 9"]
    await progress(10, 10, outcome)  # the last host: the final message follows, no edit
    assert len(reply.updates) == 3


async def test_attachment_goes_to_the_thread(fake_slack: FakeSlack) -> None:
    client = make_client(BOT_TOKEN, fake_slack.api_url)
    reply = SlashReply(client, "C1", ResponsePoster(), fake_slack.response_url(channel="C1"))
    attachment = Attachment("t.csv", "Table", "a,b\n1,2\n", "All rows.")
    posted = await reply.public(Message("hello", [], attachment))
    assert posted is not None
    [record] = fake_slack.files.values()
    assert record.data == b"a,b\n1,2\n" and record.thread_ts == posted.ts


async def test_not_in_channel_falls_back_to_response_url(fake_slack: FakeSlack) -> None:
    client = make_client(BOT_TOKEN, fake_slack.api_url)
    poster = ResponsePoster()
    reply = SlashReply(client, "C9", poster, fake_slack.response_url(channel="C9"))
    fake_slack.fail("chat.postMessage", error="not_in_channel")
    assert await reply.public(Message("for all", [])) is None
    assert [m["text"] for m in fake_slack.messages("C9")] == ["for all"]
    await poster.close()


async def test_web_api_calls_share_one_connection(fake_slack: FakeSlack) -> None:
    """slack_sdk alone opens a connection (with real Slack, a TLS handshake) per call."""
    async with slack_client(BOT_TOKEN, fake_slack.api_url) as client:
        for n in range(5):
            await client.chat_postMessage(channel="C1", text=f"kept {n}")
    kept = {c.peer for c in fake_slack.calls_to("chat.postMessage")}
    assert len(kept) == 1 and None not in kept
    alone = make_client(BOT_TOKEN, fake_slack.api_url)
    for n in range(3):
        await alone.chat_postMessage(channel="C1", text=f"alone {n}")
    assert len({c.peer for c in fake_slack.calls_to("chat.postMessage")}) == 4
    assert client.session is not None and client.session.closed


async def test_a_dropped_connection_is_retried_once(fake_slack: FakeSlack) -> None:
    """A keep-alive connection the server has closed: the call goes again on a new one."""
    async with slack_client(BOT_TOKEN, fake_slack.api_url) as client:
        fake_slack.drop("chat.postMessage")
        answer = await client.chat_postMessage(channel="C1", text="after a drop")
        assert answer["ok"] is True
        fake_slack.drop("chat.postMessage", times=2)
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await client.chat_postMessage(channel="C1", text="dropped twice")
    assert [c.args["text"] for c in fake_slack.calls_to("chat.postMessage")] == ["after a drop"]
