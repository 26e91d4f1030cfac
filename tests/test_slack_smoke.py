"""`aio-bot serve --demo` and `aio-bot socket --demo` run as a user would run them, pointed at
FakeSlack through SLACK_API_URL, and driven through `/aio help` and `/aio top host01`."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from tests import fakeslack
from tests.fakeslack import FakeSlack, SlackDriver, slash_payload
from tests.slack_helpers import APP_TOKEN, BOT_TOKEN, SECRET, assert_every_message_valid

fake_slack = fakeslack.fake_slack
ROOT = Path(__file__).resolve().parent.parent


@asynccontextmanager
async def aio_bot(fake: FakeSlack, action: str, **extra_env: str) -> AsyncIterator[str]:
    """Run `python -m bot <action> --demo`; yields its first stdout line."""
    env = {**os.environ, "SLACK_API_URL": fake.api_url, "SLACK_BOT_TOKEN": BOT_TOKEN,
           "SLACK_SIGNING_SECRET": SECRET, "SLACK_APP_TOKEN": APP_TOKEN, **extra_env}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", action, "--demo", "--host", "127.0.0.1", "--port", "0",
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert line.startswith("aio-bot: "), line
        yield line
    finally:
        if proc.returncode is None:
            proc.terminate()
        _, stderr = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 0, stderr.decode()
    assert "Traceback" not in stderr.decode() and BOT_TOKEN not in stderr.decode()


async def get_json(url: str) -> dict[str, object]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body: dict[str, object] = await response.json()
        return body


def is_top(message: dict[str, object]) -> bool:
    return "host01 · CRITICAL" in repr(message.get("blocks"))


async def test_serve_demo(fake_slack: FakeSlack) -> None:
    async with aio_bot(fake_slack, "serve") as line:
        url = line.split()[-1]
        assert url.endswith("/slack/events")
        health = await get_json(url.replace("/slack/events", "/healthz"))
        assert health["event_loop"] == "asyncio", health  # the default (bot/loop.py)
        async with SlackDriver(url, SECRET, fake_slack) as driver:
            assert (await driver.slash("/aio", "help")).status == 200
            post = await fake_slack.wait_for_response(timeout=10)
            assert "aio-bot commands" in repr(post.body["blocks"])
            ack = await driver.slash("/aio", "top host01")
            assert ack.status == 200 and ack.elapsed < 3
            await fake_slack.wait_for_message(is_top, timeout=15)
    assert_every_message_valid(fake_slack)


async def test_socket_demo(fake_slack: FakeSlack) -> None:
    async with aio_bot(fake_slack, "socket") as line:
        assert "Socket Mode" in line
        await fake_slack.socket_connected(timeout=10)
        for words in ("help", "top host01"):
            payload = slash_payload(fake_slack, "/aio", words)
            await fake_slack.wait_for_ack(
                await fake_slack.push_envelope("slash_commands", payload, True), timeout=5)
        await fake_slack.wait_for_response(timeout=10)
        await fake_slack.wait_for_message(is_top, timeout=15)
    assert fake_slack.calls_to("apps.connections.open")[0].token == APP_TOKEN
    assert_every_message_valid(fake_slack)


async def test_serve_on_uvloop_when_asked(fake_slack: FakeSlack) -> None:
    """AIO_BOT_EVENT_LOOP=uvloop runs serve on uvloop; the bot answers the same on either."""
    async with aio_bot(fake_slack, "serve", AIO_BOT_EVENT_LOOP="uvloop") as line:
        url = line.split()[-1]
        health = await get_json(url.replace("/slack/events", "/healthz"))
        assert health["event_loop"] == "uvloop", health
        async with SlackDriver(url, SECRET, fake_slack) as driver:
            assert (await driver.slash("/aio", "top host01")).status == 200
            await fake_slack.wait_for_message(is_top, timeout=15)


async def test_an_unknown_event_loop_is_a_clear_error() -> None:
    env = {**os.environ, "AIO_BOT_EVENT_LOOP": "trio", "SLACK_BOT_TOKEN": BOT_TOKEN,
           "SLACK_SIGNING_SECRET": SECRET}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--demo", "--port", "0", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert stderr.decode().strip() == ("aio-bot: AIO_BOT_EVENT_LOOP must be one of asyncio, "
                                       "uvloop, not 'trio'.")
