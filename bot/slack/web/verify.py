"""Checks on a request to `POST /slack/events` before anything parses it: the Slack signature
over the raw body (HMAC-SHA256 of `v0:<timestamp>:<body>` with the signing secret, timestamps
within 300 s), headers of bounded size, then a body that Bolt can parse. Each failure is a
`Refused` with the HTTP status and a short reason for the log (never the body)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

WINDOW_S = 300  # Slack's rule: reject timestamps more than five minutes off
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"


class Refused(Exception):
    """The request is not served: `status` (400, 401) and why, for one log line."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def check_headers(secret: str, headers: Mapping[str, str], *,
                  now: Callable[[], float] = time.time) -> tuple[str, str]:
    """(timestamp, signature) when both headers are present, well-formed and fresh;
    `Refused(401)` otherwise. Needs no body: call it before reading one."""
    if not secret:
        raise Refused(401, "no signing secret is configured")
    timestamp = headers.get(TIMESTAMP_HEADER)
    signature = headers.get(SIGNATURE_HEADER)
    if timestamp is None or signature is None:
        raise Refused(401, "unsigned (no Slack signature headers)")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Refused(401, f"malformed timestamp header ({len(timestamp)} characters)")
    if not _SIGNATURE.fullmatch(signature):
        raise Refused(401, f"malformed signature header ({len(signature)} characters)")
    if abs(now() - int(timestamp)) > WINDOW_S:
        raise Refused(401, "stale or future timestamp (more than 300 s off)")
    return timestamp, signature


def check_signature(secret: str, headers: Mapping[str, str], body: bytes, *,
                    now: Callable[[], float] = time.time) -> None:
    """Raise `Refused(401)` unless `body` carries a valid, fresh Slack signature."""
    timestamp, signature = check_headers(secret, headers, now=now)
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body,
                                hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Refused(401, "bad signature")


def check_body(body: bytes, content_type: str | None) -> str:
    """The body as text once it is known to parse as Bolt will parse it (a JSON object, or a
    form whose `payload`, if any, is a JSON object); `Refused(400)` otherwise."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(400, f"body is not UTF-8 (byte {exc.start})") from None
    if not text:
        raise Refused(400, "empty body")
    if content_type == "application/json" or text.startswith("{"):
        _json_object(text, "body")
    elif "payload" in text:
        payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
        if payload is not None:
            _json_object(payload, "payload")
    return text


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise Refused(400, f"{what} is not JSON ({type(exc).__name__})") from None
    if not isinstance(value, dict):
        raise Refused(400, f"{what} is JSON but not an object")
    return value
