"""FakeSlack: a real aiohttp server on 127.0.0.1 that plays the Slack Web API, response_urls,
the files-v2 upload URL and the Socket Mode websocket, and records everything the app sent.

Tests never sleep: they wait on what the fake recorded (`wait_for_call`, `wait_for_response`,
`wait_for_message`, `wait_for_ack`)."""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.slack.limits import Surface, check_message
from tests.fakeslack.modals import FakeModals
from tests.fakeslack.socket_mode import SOCKET_PATH, Changes, SocketHub

JsonDict = dict[str, Any]
Predicate = Callable[[Any], bool]
RESPONSE_URL_MAX_POSTS = 5  # Slack: 5 posts per response_url within 30 minutes


@dataclass
class Call:
    """One Web API call as Slack received it (query, form and JSON merged into `args`)."""

    method: str
    args: JsonDict
    token: str | None
    status: int = 200
    answer: JsonDict = field(default_factory=dict)
    peer: object = None  # the caller's (address, port): one per TCP connection


@dataclass
class ResponsePost:
    """One POST to a response_url."""

    id: str
    body: JsonDict
    status: int = 200
    for_message: tuple[str, str] | None = None


@dataclass
class FileRecord:
    id: str
    filename: str
    length: int
    data: bytes | None = None
    title: str | None = None
    channels: list[str] = field(default_factory=list)
    thread_ts: str | None = None
    initial_comment: str | None = None


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: int | None
    times: int


@dataclass
class _ResponseUrl:
    channel: str | None
    for_message: tuple[str, str] | None
    posts: int = 0


class FakeSlack:
    """`async with FakeSlack() as fake:`, then `AsyncWebClient(base_url=fake.api_url)`."""

    def __init__(
        self,
        *,
        latency: float = 0.02,
        team_id: str = "T0FAKE",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        app_id: str = "A0FAKE",
        validate_blocks: bool = True,
        public_host: str = "127.0.0.1",
    ) -> None:
        self.latency = latency
        # the name in the URLs it hands out (API, response_url, uploads, Socket Mode); a name
        # only a test's proxy resolves proves that every call went through the proxy
        self.public_host = public_host
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.validate_blocks = validate_blocks
        self.calls: list[Call] = []
        self.responses: list[ResponsePost] = []
        self.ephemerals: list[JsonDict] = []
        self.views: dict[str, JsonDict] = {}  # App Home views by user
        self.modals = FakeModals()  # modals: views.open / views.update / views.push
        self.files: dict[str, FileRecord] = {}
        self.users: dict[str, JsonDict] = {}
        self.channels: dict[str, JsonDict] = {}
        self.usergroups: dict[str, list[str]] = {}
        self._messages: dict[str, list[JsonDict]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._drops: dict[str, int] = {}
        self._response_failures: list[_Failure] = []
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._ts_base = int(time.time())
        self._counter = itertools.count(1)
        self._changes = Changes()
        self._changes.describe = self._describe
        self.socket = SocketHub(self._changes, app_id)
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._methods: dict[str, Callable[[Call], Awaitable[JsonDict]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "conversations.info": self._conversations_info,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "apps.connections.open": self._apps_connections_open,
        }

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        app.router.add_post("/response/{rid}", self._handle_response)
        app.router.add_get(SOCKET_PATH, self.socket.handle)
        app.on_shutdown.append(lambda _app: self.socket.close_all())
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self.socket.close_all()
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>` (or the `public_host` given)."""
        return f"http://{self.public_host}:{self._port}"

    @property
    def api_url(self) -> str:
        """The `base_url` for slack_sdk clients (with the trailing slash they need)."""
        return f"{self.url}/api/"

    # --- configuration -----------------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with HTTP `status` (429 carries
        `Retry-After`) or, with status 200, `{"ok": false, "error": error}`."""
        self._failures.setdefault(method, []).append(_Failure(status, error, retry_after, times))

    def drop(self, method: str, *, times: int = 1) -> None:
        """Close the connection of the next `times` calls of `method` without answering, as
        a server does with a keep-alive connection it has timed out."""
        self._drops[method] = self._drops.get(method, 0) + times

    def fail_response(
        self, *, status: int = 500, retry_after: int | None = None, times: int = 1
    ) -> None:
        """Answer the next `times` posts to any response_url with HTTP `status`."""
        self._response_failures.append(_Failure(status, None, retry_after, times))

    def add_user(self, user_id: str, **fields: Any) -> None:
        self.users[user_id] = {**self._default_user(user_id), **fields}

    def add_channel(self, channel_id: str, **fields: Any) -> None:
        self.channels[channel_id] = {**self._default_channel(channel_id), **fields}

    def set_usergroup(self, usergroup_id: str, members: list[str]) -> None:
        self.usergroups[usergroup_id] = list(members)

    def response_url(
        self, *, channel: str | None = None, for_message: tuple[str, str] | None = None
    ) -> str:
        """A fresh response_url; with `for_message=(channel, ts)` `replace_original` edits it."""
        rid = uuid.uuid4().hex
        if for_message is not None:
            channel = for_message[0]
        self._response_urls[rid] = _ResponseUrl(channel, for_message)
        return f"{self.url}/response/{rid}"

    # --- queries and waiting -----------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def messages(self, channel: str) -> list[JsonDict]:
        """Messages stored in `channel`, oldest first, as Slack keeps them (edits applied)."""
        return list(self._messages.get(channel, []))

    def find_message(self, predicate: Predicate) -> JsonDict | None:
        for stored in self._messages.values():
            for message in stored:
                if predicate(message):
                    return message
        return None

    async def wait_for_call(
        self, method: str, predicate: Predicate | None = None, timeout: float = 5.0
    ) -> Call:
        """The first call of `method` (already recorded or still to come) matching `predicate`."""

        def probe() -> Call | None:
            return next(
                (c for c in self.calls_to(method) if predicate is None or predicate(c)), None
            )

        return await self._changes.wait_until(probe, timeout, f"a {method} call")

    async def wait_for_response(
        self, predicate: Predicate | None = None, timeout: float = 5.0
    ) -> ResponsePost:
        def probe() -> ResponsePost | None:
            return next((r for r in self.responses if predicate is None or predicate(r)), None)

        return await self._changes.wait_until(probe, timeout, "a response_url post")

    async def wait_until(self, probe: Callable[[], Any], timeout: float, what: str) -> Any:
        """What `probe` returns once it is not None, checked after every call recorded."""
        return await self._changes.wait_until(probe, timeout, what)

    async def wait_for_message(self, predicate: Predicate, timeout: float = 5.0) -> JsonDict:
        return await self._changes.wait_until(
            lambda: self.find_message(predicate), timeout, "a matching stored message"
        )

    def _describe(self) -> str:
        calls = ", ".join(f"{c.method}({c.status})" for c in self.calls) or "none"
        return f"calls so far: {calls}; response_url posts: {len(self.responses)}"

    # --- Socket Mode -------------------------------------------------------------------------

    async def socket_connected(self, timeout: float = 5.0, *, min_connections: int = 1) -> None:
        """Wait until an app websocket is open and at least `min_connections` were ever opened."""
        await self.socket.connected(timeout, min_connections)

    async def push_envelope(
        self,
        type: str,
        payload: JsonDict,
        accepts_response_payload: bool = False,
        *,
        timeout: float = 5.0,
        **extra: Any,
    ) -> str:
        """Send an envelope (`slash_commands`, `interactive`, `events_api`); returns its id."""
        return await self.socket.push(type, payload, accepts_response_payload, timeout, **extra)

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> JsonDict:
        return await self.socket.wait_for_ack(envelope_id, timeout)

    async def request_disconnect(
        self, reason: str = "refresh_requested", timeout: float = 5.0
    ) -> None:
        await self.socket.request_disconnect(reason, timeout)

    # --- HTTP handlers -----------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.latency)
        method = request.match_info["method"]
        if self._drops.get(method, 0) > 0 and request.transport is not None:
            self._drops[method] -= 1
            request.transport.close()
            return web.Response()  # never reaches the caller
        args = await _merged_args(request)
        call = Call(method, args, _token(request, args))
        call.peer = request.transport.get_extra_info("peername") if request.transport else None
        failure = _take(self._failures.get(method, []))
        if failure is not None:
            response = _failure_response(failure)
        else:
            call.answer = await self._answer(call)
            response = web.json_response(call.answer)
        call.status = response.status
        self.calls.append(call)
        await self._changes.notify()
        return response

    async def _answer(self, call: Call) -> JsonDict:
        handler = self._methods.get(call.method)
        if handler is None:
            return _error("unknown_method")
        problem = self._token_problem(call)
        if problem is not None:
            return _error(problem)
        return await handler(call)

    def _token_problem(self, call: Call) -> str | None:
        if not call.token:
            return "not_authed"
        app_level = call.token.startswith("xapp-")
        if app_level != (call.method == "apps.connections.open"):
            return "not_allowed_token_type"
        return None

    async def _handle_upload(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.latency)
        record = self.files.get(request.match_info["file_id"])
        if record is None:
            return web.Response(status=404, text="file not found")
        record.data = await _upload_bytes(request)
        await self._changes.notify()
        return web.Response(text=f"OK - {len(record.data)}")

    async def _handle_response(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.latency)
        rid = request.match_info["rid"]
        target = self._response_urls.get(rid)
        body = await _json_body(request)
        post = ResponsePost(rid, body, for_message=target.for_message if target else None)
        response = self._response_answer(target, body)
        post.status = response.status
        self.responses.append(post)
        if post.status == 200 and target is not None:
            self._apply_response(target, body)
        await self._changes.notify()
        return response

    def _response_answer(self, target: _ResponseUrl | None, body: JsonDict) -> web.Response:
        failure = _take(self._response_failures)
        if failure is not None:
            return _failure_response(failure, text_body=True)
        if target is None:
            return web.Response(status=404, text="no_such_response_url")
        target.posts += 1
        if target.posts > RESPONSE_URL_MAX_POSTS:
            return web.Response(status=404, text="used_url")
        if self._block_problems(body.get("blocks"), body.get("text"), "message"):
            return web.Response(status=400, text="invalid_blocks")
        return web.Response(text="ok")

    def _apply_response(self, target: _ResponseUrl, body: JsonDict) -> None:
        if target.for_message is not None and body.get("delete_original"):
            self._delete_message(*target.for_message)
        elif target.for_message is not None and body.get("replace_original"):
            self._edit_message(*target.for_message, body)
        elif body.get("response_type") == "in_channel" and target.channel:
            self._store_message(target.channel, body)
        else:
            self.ephemerals.append({"channel": target.channel, **body})

    # --- message store -----------------------------------------------------------------------

    def next_ts(self) -> str:
        return f"{self._ts_base}.{next(self._counter):06d}"

    def _store_message(self, channel: str, args: JsonDict, **extra: Any) -> JsonDict:
        message: JsonDict = {
            "type": "message",
            "channel": channel,
            "ts": self.next_ts(),
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "text": args.get("text") or "",
            "blocks": _stamp_blocks(_json_arg(args.get("blocks")) or []),
            **extra,
        }
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        self._messages.setdefault(channel, []).append(message)
        return message

    def _find(self, channel: str, ts: str) -> JsonDict | None:
        return next((m for m in self._messages.get(channel, []) if m["ts"] == ts), None)

    def _edit_message(self, channel: str, ts: str, args: JsonDict) -> JsonDict | None:
        message = self._find(channel, ts)
        if message is not None:
            if "text" in args:
                message["text"] = args["text"] or ""
            if "blocks" in args:
                message["blocks"] = _stamp_blocks(_json_arg(args["blocks"]) or [])
            message["edited"] = {"user": self.bot_user_id, "ts": self.next_ts()}
        return message

    def _delete_message(self, channel: str, ts: str) -> None:
        stored = self._messages.get(channel, [])
        stored[:] = [m for m in stored if m["ts"] != ts]

    def _block_problems(self, blocks: object, text: object, surface: Surface) -> list[str]:
        if not self.validate_blocks or blocks is None:
            return []
        parsed = _json_arg(blocks)
        if not isinstance(parsed, list):
            return ["blocks: not a list"]
        return check_message(parsed, text if isinstance(text, str) else None, surface=surface)

    # --- Web API methods ---------------------------------------------------------------------

    async def _auth_test(self, call: Call) -> JsonDict:
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake Team",
            "user": "aio-bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    async def _chat_post_message(self, call: Call) -> JsonDict:
        args = call.args
        if not args.get("channel"):
            return _error("channel_not_found")
        if not args.get("text") and not args.get("blocks"):
            return _error("no_text")
        problems = self._block_problems(args.get("blocks"), args.get("text"), "message")
        if problems:
            return _error("invalid_blocks", errors=problems)
        message = self._store_message(args["channel"], args)
        return {"ok": True, "channel": args["channel"], "ts": message["ts"], "message": message}

    async def _chat_update(self, call: Call) -> JsonDict:
        args = call.args
        problems = self._block_problems(args.get("blocks"), args.get("text"), "message")
        if problems:
            return _error("invalid_blocks", errors=problems)
        message = self._edit_message(args.get("channel", ""), args.get("ts", ""), args)
        if message is None:
            return _error("message_not_found")
        return {
            "ok": True,
            "channel": message["channel"],
            "ts": message["ts"],
            "text": message["text"],
            "message": message,
        }

    async def _chat_post_ephemeral(self, call: Call) -> JsonDict:
        args = call.args
        if not args.get("channel") or not args.get("user"):
            return _error("channel_not_found" if not args.get("channel") else "user_not_in_channel")
        problems = self._block_problems(args.get("blocks"), args.get("text"), "message")
        if problems:
            return _error("invalid_blocks", errors=problems)
        ts = self.next_ts()
        self.ephemerals.append({**args, "message_ts": ts})
        return {"ok": True, "message_ts": ts}

    async def _chat_get_permalink(self, call: Call) -> JsonDict:
        channel, ts = call.args.get("channel", ""), call.args.get("message_ts", "")
        if self._find(channel, ts) is None:
            return _error("message_not_found")
        link = f"https://fake.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": link}

    async def _views_publish(self, call: Call) -> JsonDict:
        view = _json_arg(call.args.get("view"))
        user_id = call.args.get("user_id")
        if not isinstance(view, dict) or not user_id:
            return _error("invalid_arguments")
        problems = self._block_problems(view.get("blocks", []), None, "home")
        if problems:
            return _error("invalid_blocks", errors=problems)
        stored = {"id": f"V{uuid.uuid4().hex[:10].upper()}", "team_id": self.team_id, **view}
        self.views[user_id] = stored
        return {"ok": True, "view": stored}

    async def _views_open(self, call: Call) -> JsonDict:
        return self.modals.open(call.args, self.team_id)

    async def _views_update(self, call: Call) -> JsonDict:
        return self.modals.update(call.args)

    async def _views_push(self, call: Call) -> JsonDict:
        return self.modals.push(call.args, self.team_id)

    async def _conversations_info(self, call: Call) -> JsonDict:
        channel = call.args.get("channel", "")
        if not channel:
            return _error("channel_not_found")
        return {"ok": True, "channel": self.channels.get(channel, self._default_channel(channel))}

    async def _users_info(self, call: Call) -> JsonDict:
        user = call.args.get("user", "")
        if not user:
            return _error("user_not_found")
        return {"ok": True, "user": self.users.get(user, self._default_user(user))}

    async def _usergroups_users_list(self, call: Call) -> JsonDict:
        group = call.args.get("usergroup", "")
        if group not in self.usergroups:
            return _error("no_such_subteam")
        return {"ok": True, "users": list(self.usergroups[group])}

    async def _files_get_upload_url(self, call: Call) -> JsonDict:
        filename, length = call.args.get("filename"), call.args.get("length")
        if not filename or length is None:
            return _error("invalid_arguments")
        file_id = f"F{uuid.uuid4().hex[:10].upper()}"
        self.files[file_id] = FileRecord(file_id, str(filename), int(length))
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    async def _files_complete_upload(self, call: Call) -> JsonDict:
        args = call.args
        entries = _json_arg(args.get("files")) or []
        records = [self.files.get(str(e.get("id"))) for e in entries]
        if not records or any(r is None or r.data is None for r in records):
            return _error("file_not_found")
        channels = _channels(args)
        shared = [
            self._share(r, e, channels, args) for r, e in zip(records, entries, strict=True) if r
        ]
        return {"ok": True, "files": shared}

    def _share(
        self, record: FileRecord, entry: JsonDict, channels: list[str], args: JsonDict
    ) -> JsonDict:
        record.title = entry.get("title") or record.filename
        record.channels, record.thread_ts = channels, args.get("thread_ts")
        record.initial_comment = args.get("initial_comment")
        summary = {
            "id": record.id,
            "name": record.filename,
            "title": record.title,
            "size": len(record.data or b""),
        }
        for channel in channels:
            text = {"text": record.initial_comment or "", "thread_ts": record.thread_ts}
            self._store_message(channel, text, files=[summary], upload=True)
        return summary

    async def _apps_connections_open(self, call: Call) -> JsonDict:
        ticket = uuid.uuid4().hex
        return {"ok": True, "url": f"ws://{self.public_host}:{self._port}{SOCKET_PATH}?ticket={ticket}"}

    # --- defaults ----------------------------------------------------------------------------

    def _default_user(self, user_id: str) -> JsonDict:
        name = user_id.lower()
        return {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": name,
            "deleted": False,
            "is_bot": False,
            "is_admin": False,
            "tz": "UTC",
            "profile": {"display_name": name, "real_name": name},
        }

    def _default_channel(self, channel_id: str) -> JsonDict:
        return {
            "id": channel_id,
            "name": channel_id.lower(),
            "is_channel": True,
            "is_private": False,
            "is_im": channel_id.startswith("D"),
            "is_member": True,
            "is_archived": False,
        }


# --- request parsing and answers ---------------------------------------------------------------


async def _merged_args(request: web.Request) -> JsonDict:
    """Query string, then form or JSON body: slack_sdk uses all three depending on the method."""
    args: JsonDict = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json() if request.can_read_body else {}
        args.update(body or {})
    elif request.can_read_body:
        form = await request.post()
        args.update({k: v for k, v in form.items() if isinstance(v, str)})
    return args


def _token(request: web.Request, args: JsonDict) -> str | None:
    auth = request.headers.get("Authorization", "")
    token = args.pop("token", None)
    if auth.startswith("Bearer "):
        return auth.removeprefix("Bearer ")
    return token if isinstance(token, str) else None


async def _json_body(request: web.Request) -> JsonDict:
    raw = await request.read()
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        return {"_raw": raw.decode("utf-8", "replace")}
    return body if isinstance(body, dict) else {"_raw": body}


async def _upload_bytes(request: web.Request) -> bytes:
    if not request.content_type.startswith("multipart/"):
        return await request.read()
    reader = await request.multipart()
    async for part in reader:
        return bytes(await part.read())  # type: ignore[union-attr]
    return b""


def _take(queue: list[_Failure]) -> _Failure | None:
    if not queue:
        return None
    failure = queue[0]
    failure.times -= 1
    if failure.times <= 0:
        queue.pop(0)
    return failure


def _failure_response(failure: _Failure, *, text_body: bool = False) -> web.Response:
    headers = {}
    if failure.retry_after is not None or failure.status == 429:
        headers["Retry-After"] = str(failure.retry_after if failure.retry_after is not None else 1)
    if failure.status == 200:
        return web.json_response(_error(failure.error or "fatal_error"))
    error = "ratelimited" if failure.status == 429 else "fatal_error"
    if text_body:
        return web.Response(status=failure.status, text=error, headers=headers)
    return web.json_response(_error(error), status=failure.status, headers=headers)


def _error(error: str, **extra: Any) -> JsonDict:
    return {"ok": False, "error": error, **extra}


def _json_arg(value: Any) -> Any:
    """Blocks, views and files arrive as JSON text in forms and query strings."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _channels(args: JsonDict) -> list[str]:
    if args.get("channel_id"):
        return [str(args["channel_id"])]
    channels = args.get("channels") or ""
    if isinstance(channels, list):
        return [str(c) for c in channels]
    return [c for c in str(channels).split(",") if c]


def _stamp_blocks(blocks: list[JsonDict]) -> list[JsonDict]:
    """Slack gives every stored block a block_id and every element an action_id."""
    stamped = copy.deepcopy(blocks)
    for block in stamped:
        if isinstance(block, dict):
            block.setdefault("block_id", uuid.uuid4().hex[:5])
            for element in _interactive(block):
                element.setdefault("action_id", uuid.uuid4().hex[:5])
    return stamped


def _interactive(block: JsonDict) -> list[JsonDict]:
    if block.get("type") == "actions":
        return [e for e in block.get("elements", []) if isinstance(e, dict)]
    accessory = block.get("accessory")
    return [accessory] if isinstance(accessory, dict) and accessory.get("type") != "image" else []
