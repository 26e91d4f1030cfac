"""A logging filter that keeps secrets out of every log line: Slack tokens (`xoxb-…`,
`xapp-…`), passwords in URLs (`postgresql://user:…@host`), and the values of the secret
environment variables. Installed on the log handlers by the CLI (`bot.cli.main`), so it covers
the libraries' DEBUG logs too (slack_sdk, paramiko, aiohttp, psycopg)."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping

REDACTED = "[redacted]"
SECRET_ENV = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_CLIENT_SECRET",
              "AIO_SSH_PASSWORD", "AIO_VCENTER_PASSWORD")
MIN_SECRET_LEN = 8  # shorter values would redact ordinary words
_TOKEN = re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]+")
_URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@\s/]+)(?=@)", re.I)
_MASKED = ("***", REDACTED)  # bot.store.dburl.mask_url's, and ours


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with every token, URL password and given secret replaced by REDACTED."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    text = _TOKEN.sub(REDACTED, text)
    return _URL_PASSWORD.sub(
        lambda m: m[0] if m["password"] in _MASKED else m["head"] + REDACTED, text)


def env_secrets(env: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    values = (env.get(name, "") for name in SECRET_ENV)
    return tuple(sorted({v for v in values if len(v) >= MIN_SECRET_LEN}, key=len, reverse=True))


class RedactFilter(logging.Filter):
    """Rewrites a record whose message or traceback shows a secret; never drops a record."""

    def __init__(self, env: Mapping[str, str] = os.environ) -> None:
        super().__init__()
        self.secrets = env_secrets(env)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Put a RedactFilter on every handler of `logger` (the root logger) that has none."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactFilter) for f in handler.filters):
            handler.addFilter(RedactFilter())
