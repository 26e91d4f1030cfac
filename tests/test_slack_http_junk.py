"""Junk at `POST /slack/events`, over real HTTP to the real app (`aio-bot serve`'s routes): the
signature is checked on the raw body before anything parses it, so unsigned junk is 401,
signed junk 400, a body too large 413; each refusal is exactly one warning line in the log,
and nothing anywhere logs a traceback. Slack's Web API never hears of any of it, and a proper
request right after is served."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
import pytest_asyncio

from bot.slack.web.server import MAX_BODY
from bot.slack.web.verify import Refused, check_body, check_signature
from tests import fakeslack
from tests.fakeslack import FakeSlack
from tests.fakeslack.driver import sign
from tests.slack_helpers import SECRET, Served, demo_runtime, served

fake_slack = fakeslack.fake_slack
FORM = "application/x-www-form-urlencoded"
BINARY = bytes(range(256)) * 4


@dataclass
class Junk:
    name: str
    body: bytes
    status: int
    signed: bool = False  # signed properly with the app's secret, at the current time
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = FORM


def _now() -> str:
    return str(int(time.time()))


UNSIGNED = [
    Junk("not-json payload, no headers", b"payload=%7Bnot-json", 401),
    Junk("5,000-digit timestamp", b"payload=%7Bnot-json", 401,
         headers={"X-Slack-Request-Timestamp": "9" * 5000, "X-Slack-Signature": "v0=" + "0" * 64}),
    Junk("5,000-character signature", b"command=%2Faio&text=top", 401,
         headers={"X-Slack-Request-Timestamp": "<now>", "X-Slack-Signature": "v0=" + "a" * 4997}),
    Junk("binary body", BINARY, 401, content_type="application/octet-stream"),
    Junk("timestamp without signature", b"command=%2Faio", 401,
         headers={"X-Slack-Request-Timestamp": "<now>"}),
    Junk("signature without timestamp", b"command=%2Faio", 401,
         headers={"X-Slack-Signature": "v0=" + "0" * 64}),
    Junk("negative timestamp", b"command=%2Faio", 401,
         headers={"X-Slack-Request-Timestamp": "-1", "X-Slack-Signature": "v0=" + "0" * 64}),
    Junk("signature of another secret", b"command=%2Faio&text=help", 401,
         headers={"X-Slack-Request-Timestamp": "<now>", "X-Slack-Signature": "<other>"}),
    Junk("stale timestamp, properly signed", b"command=%2Faio&text=help", 401,
         headers={"X-Slack-Request-Timestamp": "<stale>", "X-Slack-Signature": "<stale>"}),
    Junk("unsigned body past the size limit", b"x" * (MAX_BODY + 1), 401),
]
SIGNED = [
    Junk("signed not-json payload", b"payload=%7Bnot-json", 400, signed=True),
    Junk("signed binary body", BINARY, 400, signed=True),
    Junk("signed JSON array", b"[1, 2]", 400, signed=True, content_type="application/json"),
    Junk("signed payload that is a JSON string", b"payload=%22x%22", 400, signed=True),
    Junk("signed empty body", b"", 400, signed=True),
    Junk("signed deeply nested JSON", b'{"a":' + b"[" * 100_000, 400, signed=True,
         content_type="application/json"),
    Junk("signed body past the size limit", b"x" * (MAX_BODY + 1), 413, signed=True),
]


def _headers(junk: Junk) -> dict[str, str]:
    headers = {"Content-Type": junk.content_type}
    now = _now()
    if junk.signed:
        headers["X-Slack-Request-Timestamp"] = now
        headers["X-Slack-Signature"] = sign(SECRET, now, junk.body)
    stale = str(int(now) - 400)
    for name, value in junk.headers.items():
        headers[name] = {"<now>": now, "<stale>": stale,
                         "<other>": sign("another-secret", now, junk.body)}.get(value, value)
    if junk.headers.get("X-Slack-Signature") == "<stale>":
        headers["X-Slack-Signature"] = sign(SECRET, stale, junk.body)
    return headers


@pytest_asyncio.fixture
async def bot(fake_slack: FakeSlack) -> AsyncIterator[Served]:
    async with demo_runtime() as runtime, served(fake_slack, runtime) as s:
        yield s


async def test_junk_is_refused_in_one_log_line_without_a_traceback(
        bot: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = bot.base_url + "/slack/events"
    seen: list[str] = []
    async with aiohttp.ClientSession() as session:
        for junk in UNSIGNED + SIGNED:
            caplog.clear()
            async with session.post(url, data=junk.body, headers=_headers(junk)) as resp:
                status, text = resp.status, await resp.text()
            ours = [r for r in caplog.records if r.name == "bot.slack.web.server"]
            assert (status, len(ours)) == (junk.status, 1), (junk.name, status, text,
                                                            caplog.text)
            line = ours[0].getMessage()
            assert ours[0].levelno == logging.WARNING and "\n" not in line, line
            assert f" {junk.status} " in line and "not-json" not in line  # never the body
            assert "Traceback" not in caplog.text and not any(r.exc_info for r in
                                                              caplog.records), caplog.text
            assert "Traceback" not in text and len(text) < 100
            seen.append(line)
    assert len(seen) == len(UNSIGNED) + len(SIGNED)
    await bot.runtime.drain()
    assert bot.fake.calls == [] and bot.fake.responses == []
    ack = await bot.driver.slash("/aio", "help")  # a real one still gets through
    assert ack.status == 200
    await bot.fake.wait_for_response(timeout=10)


async def test_a_header_past_the_limit_is_one_line(
        bot: Served, caplog: pytest.LogCaptureFixture) -> None:
    """Past the header limit (8 KiB a field): a 400 from the HTTP layer, one line, no
    traceback."""
    caplog.set_level(logging.DEBUG)
    async with aiohttp.ClientSession() as session:
        headers = {"X-Slack-Request-Timestamp": "1" * 20_000}
        async with session.post(bot.base_url + "/slack/events", data=b"x",
                                headers=headers) as resp:
            assert resp.status in (400, 431)
    assert "Traceback" not in caplog.text and not any(r.exc_info for r in caplog.records)
    [line] = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert line.levelno == logging.WARNING and "\n" not in line.getMessage()


# ---- the checks themselves ----------------------------------------------------------------

NOW = 1_700_000_000.0


def _signed(body: bytes, ts: str = str(int(NOW))) -> dict[str, str]:
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sign(SECRET, ts, body)}


def _clock(at: float) -> Callable[[], float]:
    return lambda: at


def test_the_signature_covers_the_raw_bytes_and_the_window() -> None:
    body = b"payload=" + BINARY
    check_signature(SECRET, _signed(body), body, now=lambda: NOW)
    check_signature(SECRET, _signed(body), body, now=lambda: NOW + 300)
    for now, tampered in ((NOW + 301, body), (NOW - 301, body), (NOW, body + b" "),
                          (NOW, body[:-1])):
        with pytest.raises(Refused) as caught:
            check_signature(SECRET, _signed(body), tampered, now=_clock(now))
        assert caught.value.status == 401
    with pytest.raises(Refused, match="no signing secret"):
        check_signature("", _signed(body), body, now=lambda: NOW)


@pytest.mark.parametrize(("body", "content_type", "ok"), [
    (b"command=%2Faio&text=top+host01", FORM, True),
    (b'payload=%7B%22type%22%3A%22block_actions%22%7D', FORM, True),
    (b'{"type":"url_verification","challenge":"x"}', "application/json", True),
    (b'{"type":"event_callback"}', "text/plain", True),
    (b"payload=%7Bnot-json", FORM, False),
    (b"payload=%5B%5D", FORM, False),
    (b"\xff\xfe", FORM, False),
    (b"[]", "application/json", False),
    (b"", FORM, False),
])
def test_bodies_bolt_can_parse(body: bytes, content_type: str, ok: bool) -> None:
    if ok:
        assert check_body(body, content_type) == body.decode()
    else:
        with pytest.raises(Refused) as caught:
            check_body(body, content_type)
        assert caught.value.status == 400
