"""Posts to `response_url`s, retried on 429 (after Retry-After, capped) and 5xx with backoff.

Bolt's `respond()` has no retry handlers at all, hence this small poster around slack_sdk's
webhook client (its own retry handlers off: the retries are ours), on one HTTP session that
honours the standard proxy variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.proxy_env import proxy_for

log = logging.getLogger(__name__)
# slack_sdk's webhook client logs every body at DEBUG; a body echoes what a user typed (a
# secret pasted by mistake, say): its own logger stays at INFO, whatever the bot's level.
_QUIET = logging.getLogger(__name__ + ".webhook")
_QUIET.setLevel(logging.INFO)

Sleep = Callable[[float], Awaitable[None]]
MAX_ATTEMPTS = 4
MAX_RETRY_AFTER = 30.0
BACKOFF = 0.5
TIMEOUT = aiohttp.ClientTimeout(total=15)
CONNECTIONS = 8  # to hooks.slack.com, reused (see bot.slack.web.client.CONNECTIONS)


class ResponseUrlError(RuntimeError):
    """A response_url post failed for good (the URL is only logged by its path's length)."""


class ResponsePoster:
    """One aiohttp session for every response_url post; create it inside the running loop."""

    def __init__(self, *, sleep: Sleep = asyncio.sleep, attempts: int = MAX_ATTEMPTS) -> None:
        self._sleep = sleep
        self._attempts = attempts
        self._session: aiohttp.ClientSession | None = None

    async def post(self, url: str, body: dict[str, Any]) -> None:
        """POST `body` as JSON; raises ResponseUrlError after the last failed attempt."""
        status = 0
        for attempt in range(1, self._attempts + 1):
            status, retry_after = await self._try(url, body)
            if status == 200:
                return
            if not _retryable(status) or attempt == self._attempts:
                break
            delay = retry_after if retry_after is not None else BACKOFF * 2 ** (attempt - 1)
            log.info("response_url answered %s; retry %d in %.1fs", status, attempt, delay)
            await self._sleep(delay)
        raise ResponseUrlError(f"response_url post failed with HTTP {status}")

    async def _try(self, url: str, body: dict[str, Any]) -> tuple[int, float | None]:
        client = AsyncWebhookClient(url, timeout=int(TIMEOUT.total or 15),
                                    session=self._client(), retry_handlers=[],
                                    logger=_QUIET)
        client.proxy = proxy_for(url)  # slack_sdk's own reading ignores NO_PROXY
        try:
            response = await client.send_dict(body)
        except (aiohttp.ClientError, TimeoutError) as err:
            log.info("response_url post did not get through: %s", type(err).__name__)
            return 599, None
        headers = response.headers or {}
        return response.status_code, _retry_after(headers.get("Retry-After"))

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # the proxy is given per post (`proxy_for`): trust_env would read the
            # environment in the default executor on every post
            self._session = aiohttp.ClientSession(
                timeout=TIMEOUT, connector=aiohttp.TCPConnector(limit=CONNECTIONS))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value)))
    except ValueError:
        return None
