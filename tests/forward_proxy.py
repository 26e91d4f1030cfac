"""A small forward HTTP proxy on 127.0.0.1 for the tests, as a corporate proxy would be:
plain proxied HTTP (`GET http://host:port/path HTTP/1.1`, passed on in absolute form,
which HTTP/1.1 servers accept) and CONNECT tunnels (for https:// and wss://). After the
first request of a connection the bytes are piped both ways, so keep-alive requests and
websocket upgrades work too.

`names` maps host names only the proxy knows (e.g. `slack.test`) to addresses: a client that
skipped the proxy could not reach them at all."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

HEAD_LIMIT = 64 * 1024


@dataclass
class Tunnel:
    method: str  # CONNECT, GET, POST, …
    target: str  # host:port (CONNECT) or the absolute URL
    host: str
    port: int


@dataclass
class ForwardProxy:
    names: Mapping[str, str] = field(default_factory=dict)
    tunnels: list[Tunnel] = field(default_factory=list)  # one per client connection
    refused: list[str] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def __aenter__(self) -> ForwardProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def hosts(self, method: str | None = None) -> set[str]:
        """`host:port` of every tunnel (of one method)."""
        return {f"{t.host}:{t.port}" for t in self.tunnels if method in (None, t.method)}

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > HEAD_LIMIT:
            return
        method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            port_number = int(port)
        else:
            url = urlsplit(target)
            if url.scheme != "http" or not url.hostname:
                self.refused.append(target)
                writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                return
            host, port_number = url.hostname, url.port or 80
        self.tunnels.append(Tunnel(method, target, host, port_number))
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self.names.get(host, host), port_number)
        except OSError:
            self.refused.append(target)
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            return
        if method == "CONNECT":
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            up_writer.write(head)  # the absolute form, as proxies may pass it on
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            writer.write_eof()
