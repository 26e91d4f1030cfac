"""SlackDriver plays Slack toward an app served over HTTP: signed slash commands, button clicks
built from the very message the app posted, Events API callbacks with retry headers.

The payload builders are plain functions so Socket Mode tests push the same payloads through
`FakeSlack.push_envelope`. `serve_bolt_app` serves a Bolt AsyncApp on 127.0.0.1."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from tests.fakeslack.modals import find_element
from tests.fakeslack.server import FakeSlack, JsonDict

ACK_DEADLINE = 3.0  # seconds Slack waits for the HTTP 200
DEFAULT_USER = "U0OPERATOR"
DEFAULT_CHANNEL = "C0OPS"


@dataclass
class DriverResponse:
    status: int
    body: str
    elapsed: float
    response_url: str | None = None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class ButtonNotFound(AssertionError):
    pass


# --- signing -----------------------------------------------------------------------------------


def sign(signing_secret: str, timestamp: str, body: bytes) -> str:
    """`v0=` + hex HMAC-SHA256 of `v0:<timestamp>:<raw body>`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def _trigger_id() -> str:
    return f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"


# --- payload builders --------------------------------------------------------------------------


def slash_payload(
    fake: FakeSlack,
    command: str = "/aio",
    text: str = "",
    *,
    user_id: str = DEFAULT_USER,
    channel_id: str = DEFAULT_CHANNEL,
    user_name: str | None = None,
    channel_name: str | None = None,
    response_url: str | None = None,
) -> dict[str, str]:
    """The form fields Slack sends for a slash command (also the Socket Mode payload)."""
    return {
        "token": "fake-verification-token",
        "team_id": fake.team_id,
        "team_domain": "fake",
        "channel_id": channel_id,
        "channel_name": channel_name or channel_id.lower(),
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": fake.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url or fake.response_url(channel=channel_id),
        "trigger_id": fake.modals.issue(_trigger_id(), user_id),
    }


def find_button(message: JsonDict, action_id: str) -> tuple[JsonDict, JsonDict]:
    """(block, element) of the button with `action_id` in a stored message."""
    for block in message.get("blocks") or []:
        elements = block.get("elements", []) if block.get("type") == "actions" else []
        if block.get("type") == "section" and block.get("accessory"):
            elements = [block["accessory"]]
        for element in elements:
            if element.get("type") == "button" and element.get("action_id") == action_id:
                return block, element
    raise ButtonNotFound(f"no button with action_id {action_id!r} in message {message.get('ts')}")


def block_actions_payload(
    fake: FakeSlack,
    message: JsonDict,
    action_id: str,
    *,
    user_id: str = DEFAULT_USER,
    channel_id: str | None = None,
) -> JsonDict:
    """A `block_actions` payload for clicking a button of `message` (a stored message, or a
    response_url body for an ephemeral one: no `ts`)."""
    block, button = find_button(message, action_id)
    channel = channel_id or message.get("channel") or DEFAULT_CHANNEL
    ephemeral = "ts" not in message
    ts = message.get("ts") or fake.next_ts()
    container: JsonDict = {
        "type": "message",
        "message_ts": ts,
        "channel_id": channel,
        "is_ephemeral": ephemeral,
    }
    if message.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"]
    for_message = None if ephemeral else (channel, ts)
    payload: JsonDict = {
        "type": "block_actions",
        "user": {
            "id": user_id,
            "username": user_id.lower(),
            "name": user_id.lower(),
            "team_id": fake.team_id,
        },
        "api_app_id": fake.app_id,
        "token": "fake-verification-token",
        "container": container,
        "trigger_id": fake.modals.issue(_trigger_id(), user_id),
        "team": {"id": fake.team_id, "domain": "fake"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": channel.lower()},
        "state": {"values": {}},
        "response_url": fake.response_url(channel=channel, for_message=for_message),
        "actions": [_action(block, button)],
    }
    if not ephemeral:
        payload["message"] = {k: v for k, v in message.items() if k != "channel"}
    return payload


def _action(block: JsonDict, button: JsonDict) -> JsonDict:
    action = {
        "action_id": button["action_id"],
        "block_id": block["block_id"],
        "text": button.get("text"),
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    for key in ("value", "style", "url"):
        if key in button:
            action[key] = button[key]
    return action


def _user(fake: FakeSlack, user_id: str) -> JsonDict:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(),
            "team_id": fake.team_id}


def _interaction(fake: FakeSlack, kind: str, user_id: str, **fields: Any) -> JsonDict:
    return {"type": kind, "user": _user(fake, user_id), "api_app_id": fake.app_id,
            "token": "fake-verification-token", "team": {"id": fake.team_id, "domain": "fake"},
            "enterprise": None, "is_enterprise_install": False, **fields}


def shortcut_payload(fake: FakeSlack, callback_id: str, *, user_id: str = DEFAULT_USER
                     ) -> JsonDict:
    """A global shortcut (the lightning menu): no channel, a trigger to open a modal."""
    return _interaction(fake, "shortcut", user_id, callback_id=callback_id,
                        trigger_id=fake.modals.issue(_trigger_id(), user_id),
                        action_ts=f"{time.time():.6f}")


def view_action_payload(fake: FakeSlack, view: JsonDict, block: JsonDict, element: JsonDict,
                        *, user_id: str = DEFAULT_USER) -> JsonDict:
    """`block_actions` from inside a view (a modal's dispatching input, an App Home button)."""
    action: JsonDict = {"action_id": element["action_id"], "block_id": block.get("block_id"),
                        "type": element["type"], "action_ts": f"{time.time():.6f}"}
    state = (view.get("state") or {}).get("values", {}).get(block.get("block_id"), {})
    picked = state.get(element["action_id"], {})
    action.update({k: v for k, v in picked.items() if k != "type"})
    for key in ("value", "text"):
        if element["type"] == "button" and key in element:
            action[key] = element[key]
    return _interaction(fake, "block_actions", user_id,
                        container={"type": "view", "view_id": view["id"]},
                        trigger_id=fake.modals.issue(_trigger_id(), user_id),
                        view=copy.deepcopy(view), actions=[action])


def suggestion_payload(fake: FakeSlack, view: JsonDict, action_id: str, query: str, *,
                       user_id: str = DEFAULT_USER) -> JsonDict:
    """`block_suggestion`: an external select asking for options matching `query`."""
    block, _ = find_element(view, action_id)
    return _interaction(fake, "block_suggestion", user_id, action_id=action_id,
                        block_id=block.get("block_id"), value=query,
                        container={"type": "view", "view_id": view["id"]},
                        view=copy.deepcopy(view))


def submission_payload(fake: FakeSlack, view: JsonDict, *, user_id: str = DEFAULT_USER
                       ) -> JsonDict:
    """`view_submission` of a modal, with the state the user left it in."""
    return _interaction(fake, "view_submission", user_id, view=copy.deepcopy(view),
                        trigger_id=fake.modals.issue(_trigger_id(), user_id),
                        response_urls=[])


def event_payload(fake: FakeSlack, event: JsonDict, *, event_id: str | None = None) -> JsonDict:
    """An Events API `event_callback` body."""
    return {
        "token": "fake-verification-token",
        "team_id": fake.team_id,
        "api_app_id": fake.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": fake.team_id,
                "user_id": fake.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


# --- the driver --------------------------------------------------------------------------------


class SlackDriver:
    """Sends what Slack sends to `base_url` (the app's Request URL), signed with `signing_secret`.

    Every method takes `timestamp_offset` (seconds added to the signed timestamp: -360 is stale)
    and `bad_signature=True` (signed with the wrong secret)."""

    def __init__(
        self, base_url: str, signing_secret: str, fake: FakeSlack, *, timeout: float = 10.0
    ) -> None:
        self.base_url = base_url
        self.signing_secret = signing_secret
        self.fake = fake
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> SlackDriver:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def slash(
        self,
        command: str = "/aio",
        text: str = "",
        *,
        user_id: str = DEFAULT_USER,
        channel_id: str = DEFAULT_CHANNEL,
        timestamp_offset: int = 0,
        bad_signature: bool = False,
        **fields: str,
    ) -> DriverResponse:
        form = slash_payload(self.fake, command, text, user_id=user_id, channel_id=channel_id)
        form.update(fields)
        response = await self._post(
            urlencode(form).encode(),
            "application/x-www-form-urlencoded",
            timestamp_offset=timestamp_offset,
            bad_signature=bad_signature,
        )
        response.response_url = form["response_url"]
        return response

    async def click(
        self,
        message: JsonDict,
        action_id: str,
        *,
        user_id: str = DEFAULT_USER,
        channel_id: str | None = None,
        timestamp_offset: int = 0,
        bad_signature: bool = False,
    ) -> DriverResponse:
        payload = block_actions_payload(
            self.fake, message, action_id, user_id=user_id, channel_id=channel_id
        )
        response = await self._post(
            urlencode({"payload": json.dumps(payload)}).encode(),
            "application/x-www-form-urlencoded",
            timestamp_offset=timestamp_offset,
            bad_signature=bad_signature,
        )
        response.response_url = payload["response_url"]
        return response

    async def shortcut(self, callback_id: str, *, user_id: str = DEFAULT_USER) -> DriverResponse:
        return await self.post_payload(shortcut_payload(self.fake, callback_id, user_id=user_id))

    async def modal(self, user_id: str = DEFAULT_USER, *, timeout: float = 10.0,
                    predicate: Any = None) -> JsonDict:
        """The modal on top of the user's stack, once it matches `predicate` (a view)."""
        modals = self.fake.modals

        def probe() -> JsonDict | None:
            view = modals.top(user_id)
            if view is None or (predicate is not None and not predicate(view)):
                return None
            return view

        return await self.fake.wait_until(probe, timeout, f"a modal for {user_id}")

    async def suggest(self, view: JsonDict, action_id: str, query: str = "", *,
                      user_id: str = DEFAULT_USER) -> list[JsonDict]:
        """The options the app offers for an external select; [] when it offers none."""
        response = await self.post_payload(
            suggestion_payload(self.fake, view, action_id, query, user_id=user_id))
        assert response.status == 200, response.body
        answer = response.json() or {}
        return list(answer.get("options", []))

    async def pick(self, view: JsonDict, action_id: str, value: str | JsonDict, *,
                   user_id: str = DEFAULT_USER) -> DriverResponse | None:
        """Pick a value in a modal: an option (by value, among the element's options, or the
        option itself), a conversation ID, or several checkbox values (a list). A pick in a
        `dispatch_action` input reaches the app as `block_actions`."""
        block, element = find_element(self.fake.modals.views[view["id"]], action_id)
        kind = element["type"]
        if kind == "conversations_select":
            picked: JsonDict = {"selected_conversation": value}
        elif kind == "checkboxes":
            values = value if isinstance(value, list) else [value]
            picked = {"selected_options": [o for o in element["options"]
                                           if o["value"] in values]}
        elif isinstance(value, dict):
            picked = {"selected_option": value}
        else:
            found = [o for o in element.get("options", []) if o["value"] == value]
            assert found or kind == "external_select", (value, element.get("options"))
            picked = {"selected_option": found[0] if found else
                      {"text": {"type": "plain_text", "text": value}, "value": value}}
        self.fake.modals.pick(view["id"], action_id, picked)
        if not block.get("dispatch_action"):
            return None
        stored = self.fake.modals.views[view["id"]]
        return await self.post_payload(
            view_action_payload(self.fake, stored, block, element, user_id=user_id))

    async def submit(self, view: JsonDict, *, user_id: str = DEFAULT_USER) -> DriverResponse:
        """Submit the modal as it stands; its answer (errors, update, ...) is applied."""
        stored = self.fake.modals.views[view["id"]]
        response = await self.post_payload(submission_payload(self.fake, stored,
                                                              user_id=user_id))
        assert response.status == 200, response.body
        self.fake.modals.answered(user_id, view["id"], response.json())
        return response

    async def click_home(self, action_id: str, *, user_id: str = DEFAULT_USER
                         ) -> DriverResponse:
        """Press a button of the App Home tab published for `user_id`."""
        view = self.fake.views[user_id]
        block, element = find_element(view, action_id)
        return await self.post_payload(
            view_action_payload(self.fake, view, block, element, user_id=user_id))

    async def post_payload(self, payload: JsonDict) -> DriverResponse:
        """Deliver an interactive payload again, as Slack does when it retries."""
        response = await self._post(
            urlencode({"payload": json.dumps(payload)}).encode(),
            "application/x-www-form-urlencoded",
            timestamp_offset=0,
            bad_signature=False,
        )
        response.response_url = payload.get("response_url")
        return response

    async def event(
        self,
        event: JsonDict,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        *,
        timestamp_offset: int = 0,
        bad_signature: bool = False,
    ) -> DriverResponse:
        headers = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
        if retry_reason is not None:
            headers["X-Slack-Retry-Reason"] = retry_reason
        body = json.dumps(event_payload(self.fake, event, event_id=event_id)).encode()
        return await self._post(
            body,
            "application/json",
            headers,
            timestamp_offset=timestamp_offset,
            bad_signature=bad_signature,
        )

    async def _post(
        self,
        body: bytes,
        content_type: str,
        extra_headers: dict[str, str] | None = None,
        *,
        timestamp_offset: int,
        bad_signature: bool,
    ) -> DriverResponse:
        timestamp = str(int(time.time()) + timestamp_offset)
        secret = "not-the-" + self.signing_secret if bad_signature else self.signing_secret
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign(secret, timestamp, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **(extra_headers or {}),
        }
        session = self._session or aiohttp.ClientSession(timeout=self._timeout)
        self._session = session
        started = time.perf_counter()
        async with session.post(self.base_url, data=body, headers=headers) as resp:
            text = await resp.text()
        return DriverResponse(resp.status, text, time.perf_counter() - started)


@asynccontextmanager
async def serve_bolt_app(app: AsyncApp, path: str = "/slack/events") -> AsyncIterator[str]:
    """Serve a Bolt AsyncApp over HTTP on 127.0.0.1; yields its Request URL."""

    async def handle(request: web.Request) -> web.Response:
        bolt_response = await app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    web_app = web.Application()
    web_app.router.add_post(path, handle)
    runner = web.AppRunner(web_app, shutdown_timeout=1.0, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}{path}"
    finally:
        await runner.cleanup()
