"""The same flow over Socket Mode: FakeSlack's websocket pushes envelopes, the app acks them by
envelope_id and answers through the Web API and response_urls."""

from __future__ import annotations

from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.slack.views.top import REFRESH
from tests import fakeslack
from tests.fakeslack import FakeSlack, block_actions_payload, event_payload, slash_payload
from tests.slack_helpers import APP_TOKEN, app_for, assert_every_message_valid, demo_runtime

fake_slack = fakeslack.fake_slack


def is_top(message: dict[str, Any]) -> bool:
    return any(b["type"] == "table" for b in message.get("blocks", []))


async def test_socket_mode_top_refresh_and_duplicate(fake_slack: FakeSlack) -> None:
    async with demo_runtime() as runtime:
        handler = AsyncSocketModeHandler(app_for(fake_slack, runtime), APP_TOKEN)
        await handler.connect_async()
        try:
            await fake_slack.socket_connected()
            payload = slash_payload(fake_slack, "/aio", "top host01", channel_id="C1")
            envelope = await fake_slack.push_envelope("slash_commands", payload, True)
            assert (await fake_slack.wait_for_ack(envelope, timeout=3))["envelope_id"] == envelope
            message = await fake_slack.wait_for_message(is_top, timeout=10)
            assert message["channel"] == "C1"

            click = block_actions_payload(fake_slack, message, REFRESH)
            await fake_slack.wait_for_ack(await fake_slack.push_envelope("interactive", click))
            await fake_slack.wait_for_response(lambda r: r.body.get("replace_original"), 10)

            event = {
                "type": "app_mention",
                "user": "U1",
                "text": "<@U0BOT> help",
                "channel": "C1",
                "ts": "1700000000.000300",
            }
            body = event_payload(fake_slack, event, event_id="Ev0SOCKET")
            for _ in range(2):  # a redelivery after a reconnect
                await fake_slack.wait_for_ack(await fake_slack.push_envelope("events_api", body))
            await runtime.drain()
            helps = [
                c
                for c in fake_slack.calls_to("chat.postMessage")
                if c.args.get("thread_ts") == "1700000000.000300"
            ]
            assert len(helps) == 1 and "aio-bot commands" in str(helps[0].args["blocks"])
        finally:
            await handler.close_async()
    assert_every_message_valid(fake_slack)
