"""A burst of signed Slack requests sent at once from a process of its own, timed per request
(shared by bench/load.py and bench/ack.py).

Slack sends a burst of slash commands from many machines at once. A Python client sending 100
requests through aiohttp in the bench's own process serialises them: each waits for the
client's event loop to build and write it, and in bench/load.py that loop also serves the
FakeSlack the bot posts its 100 replies to. Measured that way, an ack time was mostly the
client's own queue (the bot's handler took 0.3-0.6 ms of the 120-180 ms measured). Here the
requests are signed in advance and written with plain non-blocking sockets from a separate
process.

Each answer has two times. `seconds`, the ack time: from the moment the whole request has
been written to the last byte of its answer (the bot's accept, read, verify, dispatch, ack).
`since_connect`: from the sender's connect, which adds the TCP handshake and the sender's
own wait to write. On the 2-core machine, during a scan, that wait alone once reached 58 ms
(a burst's last request written 64 ms after its first connect; 5-10 ms in other bursts):
time spent by this process and the kernel's loopback on a shared CPU, which Slack's senders,
on machines of their own, do not spend on the bot's.

    burster = Burster(url); timings = await burster.burst(bodies); burster.close()
"""

from __future__ import annotations

import asyncio
import multiprocessing
import selectors
import socket
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from urllib.parse import urlencode, urlsplit

from tests.fakeslack import FakeSlack
from tests.fakeslack.driver import sign, slash_payload


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no answer (connection failed or timed out)
    seconds: float  # request written -> answer (see the module's text)
    since_connect: float  # connect -> answer


def signed_request(url: str, secret: str, body: bytes,
                   content_type: str = "application/x-www-form-urlencoded") -> bytes:
    """The whole HTTP/1.1 request Slack would send, signed now."""
    parts = urlsplit(url)
    timestamp = str(int(time.time()))
    head = (f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"X-Slack-Request-Timestamp: {timestamp}\r\n"
            f"X-Slack-Signature: {sign(secret, timestamp, body)}\r\n"
            "User-Agent: Slackbot 1.0 (+https://api.slack.com/robots)\r\n"
            "Connection: close\r\n\r\n")
    return head.encode() + body


def slash_requests(url: str, secret: str, fake: FakeSlack, texts: list[str]) -> list[bytes]:
    """One signed `/aio <text>` request per text, as Slack would send them to `url`."""
    return [signed_request(url, secret, urlencode(slash_payload(fake, "/aio", t)).encode())
            for t in texts]


class Burster:
    """The sending process; `burst` hands it requests and returns their answers in order."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._address = (parts.hostname or "127.0.0.1", parts.port or 80)
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._proc = context.Process(target=_serve, args=(child, self._address), daemon=True)
        self._proc.start()
        child.close()

    async def burst(self, requests: list[bytes], timeout: float = 30.0) -> list[Answer]:
        self._conn.send((requests, timeout))
        answers: list[Answer] = await asyncio.to_thread(self._conn.recv)
        return answers

    def close(self) -> None:
        self._conn.close()
        self._proc.join(5)


def _serve(conn: Connection, address: tuple[str, int]) -> None:
    while True:
        try:
            requests, timeout = conn.recv()
        except EOFError:
            return
        conn.send(send_all(address, requests, timeout))


@dataclass
class _Flight:
    sock: socket.socket
    request: bytes
    started: float
    sent: int = 0
    received: bytes = b""
    written: float | None = None  # when the last byte of the request was written


def send_all(address: tuple[str, int], requests: list[bytes], timeout: float) -> list[Answer]:
    """Connect and write every request at once; each answer's status and time."""
    selector = selectors.DefaultSelector()
    answers: list[Answer | None] = [None] * len(requests)
    for i, request in enumerate(requests):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        flight = _Flight(sock, request, time.perf_counter())
        sock.connect_ex(address)
        selector.register(sock, selectors.EVENT_WRITE, (i, flight))
    deadline = time.perf_counter() + timeout
    open_count = len(requests)
    while open_count and time.perf_counter() < deadline:
        for key, events in selector.select(max(0.0, deadline - time.perf_counter())):
            i, flight = key.data
            if _step(selector, flight, events):
                now = time.perf_counter()
                begun = flight.written if flight.written is not None else flight.started
                answers[i] = Answer(_status(flight.received), now - begun, now - flight.started)
                selector.unregister(flight.sock)
                flight.sock.close()
                open_count -= 1
    for key in list(selector.get_map().values()):
        key.fileobj.close()  # type: ignore[union-attr]
    return [a if a is not None else Answer(0, timeout, timeout) for a in answers]


def _step(selector: selectors.BaseSelector, flight: _Flight, events: int) -> bool:
    """Write what is left, or read what came; True when the answer is whole."""
    try:
        if events & selectors.EVENT_WRITE:
            flight.sent += flight.sock.send(flight.request[flight.sent:])
            if flight.sent == len(flight.request):
                flight.written = time.perf_counter()
                selector.modify(flight.sock, selectors.EVENT_READ, selector.get_key(
                    flight.sock).data)
            return False
        chunk = flight.sock.recv(65536)
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True  # refused or reset: status 0
    if not chunk:
        return True
    flight.received += chunk
    return _whole(flight.received)


def _whole(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False  # no length: the server closes when done


def _status(data: bytes) -> int:
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0
