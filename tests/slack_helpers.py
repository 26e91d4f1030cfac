"""Shared pieces of the Slack tests: the demo fleet behind a Runtime, the real app served
over HTTP on 127.0.0.1 next to a FakeSlack, and readers of what the fake recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.config import RemediationConfig, SlackAccess
from bot.demo import DemoFleet, demo_config
from bot.slack.app import build_app
from bot.slack.limits import check_message
from bot.slack.runtime import Runtime
from bot.slack.web.client import make_client
from bot.slack.web.server import EVENTS_PATH, start_site, web_app
from commands.catalog import build_registry
from tests.fakeslack import FakeSlack, SlackDriver

SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-test-token"
JsonDict = dict[str, Any]


@dataclass
class Served:
    fake: FakeSlack
    runtime: Runtime
    driver: SlackDriver
    base_url: str  # http://127.0.0.1:port (for /healthz, /metrics)


APPROVERS = ("U0ALICE", "U0BOB", "U0OPERATOR")


@asynccontextmanager
async def demo_runtime(
    access: SlackAccess | None = None, progress_interval: float = 3.0, changes: bool = False,
    remediation: RemediationConfig | None = None,
) -> AsyncIterator[Runtime]:
    """The demo fleet behind a Runtime, built by the one assembly; with `changes`, its
    vCenter stand-in and a remediation service whose approvers are APPROVERS (the default
    test user U0OPERATOR among them)."""
    config = demo_config(APPROVERS, access=access, remediation=remediation)
    async with DemoFleet(config=config, changes=changes, with_store=changes) as fleet:
        runtime = Runtime(fleet.services, progress_interval=progress_interval)
        try:
            yield runtime
        finally:
            await runtime.close()


def app_for(fake: FakeSlack, runtime: Runtime) -> Any:
    return build_app(
        client=make_client(BOT_TOKEN, fake.api_url),
        signing_secret=SECRET,
        registry=build_registry(),
        runtime=runtime,
    )


@asynccontextmanager
async def served(fake: FakeSlack, runtime: Runtime) -> AsyncIterator[Served]:
    """The app behind `aio-bot serve`'s own aiohttp routes, on a free port."""
    runner: web.AppRunner = await start_site(
        web_app(runtime, app_for(fake, runtime)), "127.0.0.1", 0
    )
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with SlackDriver(base + EVENTS_PATH, SECRET, fake) as driver:
            yield Served(fake, runtime, driver, base)
    finally:
        await runtime.drain()
        await runner.cleanup()


def table_rows(message: JsonDict) -> list[list[str]]:
    """The cells' texts of the message's table block (header row first)."""
    [table] = [b for b in message["blocks"] if b["type"] == "table"]
    return [[cell["text"] for cell in row] for row in table["rows"]]


def all_text(message: JsonDict) -> str:
    return repr(message.get("blocks")) + str(message.get("text"))


def assert_every_message_valid(fake: FakeSlack) -> None:
    """Every message the app sent passed the block checks and was accepted."""
    for call in fake.calls:
        if call.status != 200:
            continue  # an injected failure
        assert call.answer.get("ok"), (call.method, call.answer)
        if call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            assert check_message(call.args.get("blocks"), call.args.get("text")) == []
    for post in fake.responses:
        if post.status == 200:
            assert check_message(post.body.get("blocks"), post.body.get("text")) == []
