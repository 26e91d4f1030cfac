"""The Socket Mode side of the fake: a websocket that says hello, pushes envelopes, collects
acks by `envelope_id` and asks the client to reconnect, as wss://wss-primary.slack.com does."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

SOCKET_PATH = "/socket"
T = TypeVar("T")


class FakeSlackTimeout(AssertionError):
    """A test waited for something the app never did; the message says what."""


class Changes:
    """One condition every recorder notifies; waiters re-check their probe on each change.
    (Shared by the whole fake; it lives here because server.py imports this module.)"""

    def __init__(self) -> None:
        self._cond = asyncio.Condition()
        self.describe: Callable[[], str] = lambda: ""

    async def notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    async def wait_until(self, probe: Callable[[], T | None], timeout: float, what: str) -> T:
        async def wait() -> T:
            async with self._cond:
                while (found := probe()) is None:
                    await self._cond.wait()
                return found

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            raise FakeSlackTimeout(f"waited {timeout}s for {what}; {self.describe()}") from None


class SocketHub:
    """Every websocket the app opened, the envelopes pushed and the acks received."""

    def __init__(self, changes: Changes, app_id: str) -> None:
        self._changes = changes
        self._app_id = app_id
        self.open: list[web.WebSocketResponse] = []
        self.connections = 0  # websockets ever opened
        self.acks: dict[str, dict[str, Any]] = {}
        self.received: list[dict[str, Any]] = []  # every text frame the app sent
        self.pushed: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.open.append(ws)
        self.connections += 1
        await ws.send_json(self._hello())
        await self._changes.notify()
        try:
            await self._read(ws)
        finally:
            self.open.remove(ws)
            await self._changes.notify()
        return ws

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self.open),
            "debug_info": {"host": "fakeslack", "approximate_connection_time": 18060},
            "connection_info": {"app_id": self._app_id},
        }

    async def _read(self, ws: web.WebSocketResponse) -> None:
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            message = json.loads(frame.data)
            self.received.append(message)
            if "envelope_id" in message:
                self.acks[message["envelope_id"]] = message
            await self._changes.notify()

    async def connected(self, timeout: float, min_connections: int) -> None:
        await self._changes.wait_until(
            lambda: self.open[-1] if self.open and self.connections >= min_connections else None,
            timeout,
            f"Socket Mode connection #{min_connections}",
        )

    async def push(
        self,
        kind: str,
        payload: dict[str, Any],
        accepts_response_payload: bool,
        timeout: float,
        **extra: Any,
    ) -> str:
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
            **extra,
        }
        ws = await self._current(timeout)
        self.pushed.append(envelope)
        await ws.send_json(envelope)
        return envelope_id

    async def wait_for_ack(self, envelope_id: str, timeout: float) -> dict[str, Any]:
        return await self._changes.wait_until(
            lambda: self.acks.get(envelope_id), timeout, f"ack of envelope {envelope_id}"
        )

    async def request_disconnect(self, reason: str, timeout: float) -> None:
        ws = await self._current(timeout)
        await ws.send_json(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "fakeslack"}}
        )

    async def _current(self, timeout: float) -> web.WebSocketResponse:
        """The newest open websocket, waiting for one if the app is reconnecting."""
        return await self._changes.wait_until(
            lambda: next((ws for ws in reversed(self.open) if not ws.closed), None),
            timeout,
            "an open Socket Mode connection",
        )

    async def close_all(self) -> None:
        for ws in list(self.open):
            await ws.close(code=1001, message=b"server shutdown")
        await asyncio.sleep(0)
