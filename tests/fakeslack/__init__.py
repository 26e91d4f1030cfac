"""A fake Slack for tests: `FakeSlack` (Web API, response_urls, files v2, Socket Mode) and
`SlackDriver` (signed slash commands, clicks and events toward an app over HTTP)."""

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.fakeslack import modals
from tests.fakeslack.driver import (
    ACK_DEADLINE,
    DriverResponse,
    SlackDriver,
    block_actions_payload,
    event_payload,
    find_button,
    serve_bolt_app,
    sign,
    slash_payload,
)
from tests.fakeslack.server import Call, FakeSlack, FileRecord, ResponsePost
from tests.fakeslack.socket_mode import FakeSlackTimeout

__all__ = [
    "ACK_DEADLINE",
    "Call",
    "DriverResponse",
    "FakeSlack",
    "FakeSlackTimeout",
    "FileRecord",
    "ResponsePost",
    "SlackDriver",
    "block_actions_payload",
    "event_payload",
    "fake_slack",
    "find_button",
    "modals",
    "serve_bolt_app",
    "sign",
    "slash_payload",
]


@pytest_asyncio.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """A started FakeSlack, stopped after the test. Import it into a test module to use it."""
    async with FakeSlack() as fake:
        yield fake
