"""The fake Slack checked against the real slack_sdk and slack_bolt: if these pass, a test
that drives the app through FakeSlack/SlackDriver exercises the same code paths as Slack."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests import fakeslack
from tests.fakeslack import (
    ACK_DEADLINE,
    FakeSlack,
    FakeSlackTimeout,
    SlackDriver,
    serve_bolt_app,
    slash_payload,
)

fake_slack = fakeslack.fake_slack  # the fixture, bound here so pytest finds it

SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-fake-token"
APP_TOKEN = "xapp-1-fake"


def web_client(fake: FakeSlack, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url, **kwargs)


# --- Web API -----------------------------------------------------------------------------------


async def test_post_and_update_message(fake_slack: FakeSlack) -> None:
    client = web_client(fake_slack)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*host01*: 12 handles"}}]
    posted = await client.chat_postMessage(channel="C1", text="host01", blocks=blocks)
    assert posted["ts"] and posted["message"]["user"] == fake_slack.bot_user_id

    await client.chat_update(channel="C1", ts=posted["ts"], text="host01 (updated)")
    [stored] = fake_slack.messages("C1")
    assert stored["text"] == "host01 (updated)"
    assert stored["blocks"][0]["block_id"]  # Slack stamps a block_id on every block

    call = fake_slack.calls_to("chat.postMessage")[0]
    assert call.token == BOT_TOKEN and call.args["channel"] == "C1"


async def test_update_of_unknown_message_is_message_not_found(fake_slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as err:
        await web_client(fake_slack).chat_update(channel="C1", ts="1.000001", text="x")
    assert err.value.response["error"] == "message_not_found"


async def test_injected_error_is_raised_as_slack_api_error(fake_slack: FakeSlack) -> None:
    fake_slack.fail("chat.postMessage", error="channel_not_found")
    client = web_client(fake_slack)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C404", text="hi")
    assert err.value.response["error"] == "channel_not_found"
    assert (await client.chat_postMessage(channel="C1", text="hi"))["ok"]  # times=1


async def test_ratelimit_is_retried_by_the_retry_handler(fake_slack: FakeSlack) -> None:
    fake_slack.fail("chat.postMessage", status=429, retry_after=0, times=1)
    client = web_client(
        fake_slack, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)]
    )
    response = await client.chat_postMessage(channel="C1", text="hi")
    assert response["ok"]
    assert [c.status for c in fake_slack.calls_to("chat.postMessage")] == [429, 200]


async def test_ratelimit_without_retry_handler_raises(fake_slack: FakeSlack) -> None:
    fake_slack.fail("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        await web_client(fake_slack).chat_postMessage(channel="C1", text="hi")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] == "7"


async def test_server_error(fake_slack: FakeSlack) -> None:
    fake_slack.fail("users.info", status=500)
    with pytest.raises(SlackApiError) as err:
        await web_client(fake_slack).users_info(user="U1")
    assert err.value.response.status_code == 500


async def test_invalid_blocks_are_refused_like_slack(fake_slack: FakeSlack) -> None:
    blocks = [{"type": "header", "text": {"type": "mrkdwn", "text": "not plain"}}]
    with pytest.raises(SlackApiError) as err:
        await web_client(fake_slack).chat_postMessage(channel="C1", text="x", blocks=blocks)
    assert err.value.response["error"] == "invalid_blocks"
    assert fake_slack.messages("C1") == []


async def test_unknown_method_and_token_rules(fake_slack: FakeSlack) -> None:
    client = web_client(fake_slack)
    with pytest.raises(SlackApiError, match="unknown_method"):
        await client.api_call("nope.never")
    with pytest.raises(SlackApiError, match="not_allowed_token_type"):
        await client.apps_connections_open(app_token=BOT_TOKEN)
    with pytest.raises(SlackApiError, match="not_authed"):
        await AsyncWebClient(base_url=fake_slack.api_url).auth_test()


async def test_lookups(fake_slack: FakeSlack) -> None:
    client = web_client(fake_slack)
    auth = await client.auth_test()
    assert (auth["user_id"], auth["bot_id"]) == (fake_slack.bot_user_id, fake_slack.bot_id)
    fake_slack.add_user("U1", is_admin=True)
    assert (await client.users_info(user="U1"))["user"]["is_admin"] is True
    fake_slack.set_usergroup("S1", ["U1", "U2"])
    assert (await client.usergroups_users_list(usergroup="S1"))["users"] == ["U1", "U2"]
    with pytest.raises(SlackApiError, match="no_such_subteam"):
        await client.usergroups_users_list(usergroup="S404")
    assert (await client.conversations_info(channel="C1"))["channel"]["id"] == "C1"


async def test_ephemeral_permalink_and_home(fake_slack: FakeSlack) -> None:
    client = web_client(fake_slack)
    await client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert fake_slack.ephemerals[0]["text"] == "only you"
    ts = (await client.chat_postMessage(channel="C1", text="hi"))["ts"]
    link = await client.chat_getPermalink(channel="C1", message_ts=ts)
    assert link["permalink"].endswith(ts.replace(".", ""))
    view = {"type": "home", "blocks": [{"type": "divider"}]}
    await client.views_publish(user_id="U1", view=view)
    assert fake_slack.views["U1"]["blocks"] == [{"type": "divider"}]


async def test_files_upload_v2_stores_the_bytes(fake_slack: FakeSlack) -> None:
    client = web_client(fake_slack)
    data = b"host,handles\nhost01,12\n" * 100
    result = await client.files_upload_v2(
        channel="C1",
        content=data,
        filename="aio.csv",
        title="AIO handles",
        initial_comment="full table attached",
        thread_ts="1700000000.000100",
    )
    [record] = fake_slack.files.values()
    assert record.data == data
    assert result["file"]["id"] == record.id
    assert (record.title, record.channels, record.thread_ts) == (
        "AIO handles",
        ["C1"],
        "1700000000.000100",
    )
    assert record.initial_comment == "full table attached"
    [shared] = fake_slack.messages("C1")
    assert shared["files"][0]["id"] == record.id and shared["thread_ts"] == "1700000000.000100"


async def test_upload_url_takes_multipart(fake_slack: FakeSlack) -> None:
    info = await web_client(fake_slack).files_getUploadURLExternal(filename="a.txt", length=3)
    form = aiohttp.FormData()
    form.add_field("file", b"abc", filename="a.txt")
    async with aiohttp.ClientSession() as session, session.post(info["upload_url"], data=form) as r:
        assert r.status == 200
    assert fake_slack.files[info["file_id"]].data == b"abc"


async def test_latency_is_applied(fake_slack: FakeSlack) -> None:
    fake_slack.latency = 0.1
    started = time.perf_counter()
    await web_client(fake_slack).auth_test()
    assert time.perf_counter() - started >= 0.1


async def test_waiting_times_out_with_what_was_seen(fake_slack: FakeSlack) -> None:
    await web_client(fake_slack).auth_test()
    with pytest.raises(FakeSlackTimeout, match=r"auth\.test\(200\)"):
        await fake_slack.wait_for_call("chat.postMessage", timeout=0.1)


# --- response_url ------------------------------------------------------------------------------


async def post_json(url: str, body: dict[str, Any]) -> int:
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        return response.status


async def test_response_url_replace_original_edits_the_message(fake_slack: FakeSlack) -> None:
    ts = (await web_client(fake_slack).chat_postMessage(channel="C1", text="before"))["ts"]
    url = fake_slack.response_url(for_message=("C1", ts))
    assert await post_json(url, {"replace_original": True, "text": "after"}) == 200
    posted = await fake_slack.wait_for_response()
    assert posted.body["text"] == "after"
    assert fake_slack.messages("C1")[0]["text"] == "after"


async def test_response_url_in_channel_and_ephemeral(fake_slack: FakeSlack) -> None:
    url = fake_slack.response_url(channel="C1")
    await post_json(url, {"response_type": "in_channel", "text": "for all"})
    await post_json(url, {"text": "just you"})
    assert [m["text"] for m in fake_slack.messages("C1")] == ["for all"]
    assert fake_slack.ephemerals[0]["text"] == "just you"


async def test_response_url_failures_and_post_limit(fake_slack: FakeSlack) -> None:
    url = fake_slack.response_url(channel="C1")
    fake_slack.fail_response(status=429, retry_after=1)
    fake_slack.fail_response(status=500)
    statuses = [await post_json(url, {"text": str(i)}) for i in range(7)]
    assert statuses == [429, 500, 200, 200, 200, 200, 200]
    assert await post_json(url, {"text": "sixth"}) == 404  # 5 accepted posts per URL


# --- the driver against a real Bolt app --------------------------------------------------------


def build_app(fake: FakeSlack) -> AsyncApp:
    app = AsyncApp(client=web_client(fake), signing_secret=SECRET)

    @app.command("/aio")
    async def aio(ack: Any, respond: Any, say: Any, command: dict[str, Any]) -> None:
        await ack()
        await respond(text=f"running `{command['text']}`")
        button = {
            "type": "button",
            "action_id": "aio_restart",
            "value": command["text"].split()[-1],
            "text": {"type": "plain_text", "text": "Restart"},
            "style": "danger",
        }
        await say(
            text="result",
            blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": "*host01* 12 handles"}},
                {"type": "actions", "block_id": "aio_actions", "elements": [button]},
            ],
        )

    @app.action("aio_restart")
    async def restart(ack: Any, respond: Any, action: dict[str, Any]) -> None:
        await ack()
        await respond(replace_original=True, text=f"restarting {action['value']}")

    @app.event("app_mention")
    async def mention(event: dict[str, Any], say: Any) -> None:
        await say(text=f"hello <@{event['user']}>")

    return app


@pytest_asyncio.fixture
async def driver(fake_slack: FakeSlack) -> AsyncIterator[SlackDriver]:
    async with (
        serve_bolt_app(build_app(fake_slack)) as url,
        SlackDriver(url, SECRET, fake_slack) as slack_driver,
    ):
        yield slack_driver


async def test_slash_respond_say_then_click(fake_slack: FakeSlack, driver: SlackDriver) -> None:
    ack = await driver.slash("/aio", "top host01", channel_id="C1")
    assert ack.status == 200 and ack.elapsed < ACK_DEADLINE

    reply = await fake_slack.wait_for_response(lambda r: r.body.get("text", "").startswith("run"))
    assert reply.body["text"] == "running `top host01`"
    post = await fake_slack.wait_for_call("chat.postMessage")
    assert post.args["channel"] == "C1" and post.args["team_id"] == fake_slack.team_id

    message = fake_slack.messages("C1")[0]
    click = await driver.click(message, "aio_restart")
    assert click.status == 200 and click.elapsed < ACK_DEADLINE
    await fake_slack.wait_for_response(lambda r: r.for_message == ("C1", message["ts"]))
    assert fake_slack.messages("C1")[0]["text"] == "restarting host01"


async def test_event_with_retry_headers(fake_slack: FakeSlack, driver: SlackDriver) -> None:
    event = {
        "type": "app_mention",
        "user": "U1",
        "text": "<@U0BOT> hi",
        "channel": "C1",
        "ts": "1700000000.000001",
        "event_ts": "1700000000.000001",
    }
    response = await driver.event(event, retry_num=1, retry_reason="http_timeout")
    assert response.status == 200
    await fake_slack.wait_for_message(lambda m: m["text"] == "hello <@U1>")


@pytest.mark.parametrize("kwargs", [{"bad_signature": True}, {"timestamp_offset": -360}])
async def test_unsigned_or_stale_request_is_refused(
    fake_slack: FakeSlack, driver: SlackDriver, kwargs: dict[str, Any]
) -> None:
    response = await driver.slash("/aio", "top host01", **kwargs)
    assert response.status == 401
    assert fake_slack.calls == [] and fake_slack.responses == []


async def test_driver_signature_verifies_with_slack_sdk(fake_slack: FakeSlack) -> None:
    seen: dict[str, Any] = {}

    async def capture(request: aiohttp.web.Request) -> aiohttp.web.Response:
        seen["body"], seen["headers"] = await request.read(), dict(request.headers)
        return aiohttp.web.Response(text="")

    app = aiohttp.web.Application()
    app.router.add_post("/", capture)
    runner = aiohttp.web.AppRunner(app)
    await runner.setup()
    await aiohttp.web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        async with SlackDriver(url, SECRET, fake_slack) as slack_driver:
            await slack_driver.slash("/aio", "top host01")
    finally:
        await runner.cleanup()
    assert SignatureVerifier(SECRET).is_valid_request(seen["body"], seen["headers"])
    assert not SignatureVerifier("other").is_valid_request(seen["body"], seen["headers"])


# --- Socket Mode -------------------------------------------------------------------------------


async def test_socket_mode_round_trip_and_reconnect(fake_slack: FakeSlack) -> None:
    handler = AsyncSocketModeHandler(build_app(fake_slack), APP_TOKEN)
    await handler.connect_async()
    try:
        await fake_slack.socket_connected()
        opened = fake_slack.calls_to("apps.connections.open")[0]
        assert opened.token == APP_TOKEN

        payload = slash_payload(fake_slack, "/aio", "top host01", channel_id="C1")
        envelope_id = await fake_slack.push_envelope("slash_commands", payload, True)
        assert (await fake_slack.wait_for_ack(envelope_id))["envelope_id"] == envelope_id
        await fake_slack.wait_for_response(lambda r: r.body.get("text") == "running `top host01`")

        await fake_slack.request_disconnect()
        await fake_slack.socket_connected(min_connections=2)
        assert len(fake_slack.calls_to("apps.connections.open")) == 2

        payload = slash_payload(fake_slack, "/aio", "top host02", channel_id="C1")
        envelope_id = await fake_slack.push_envelope("slash_commands", payload, True)
        await fake_slack.wait_for_ack(envelope_id)
        await fake_slack.wait_for_response(lambda r: r.body.get("text") == "running `top host02`")
    finally:
        await handler.close_async()


async def test_socket_ack_carries_response_payload(fake_slack: FakeSlack) -> None:
    app = AsyncApp(client=web_client(fake_slack), signing_secret=SECRET)

    @app.command("/aio")
    async def aio(ack: Any) -> None:
        await ack(text="working on it")

    handler = AsyncSocketModeHandler(app, APP_TOKEN)
    await handler.connect_async()
    try:
        await fake_slack.socket_connected()
        envelope_id = await fake_slack.push_envelope(
            "slash_commands", slash_payload(fake_slack, "/aio", "help"), True
        )
        ack = await fake_slack.wait_for_ack(envelope_id)
        assert ack["payload"]["text"] == "working on it"
        hello = json.dumps(fake_slack.socket.received)  # the client says nothing but acks
        assert "hello" not in hello
    finally:
        await handler.close_async()
