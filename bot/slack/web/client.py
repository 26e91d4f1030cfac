"""The Web API client: base URL from `SLACK_API_URL` (GovSlack, proxies, the test harness),
retries on rate limits and server errors, which slack_sdk's async client does not do unless
told, and one keep-alive HTTP session for every call (without one, slack_sdk opens and closes
a session, hence a TCP and a TLS handshake, per call). The standard proxy variables apply
(`bot.proxy_env`: HTTPS_PROXY, HTTP_PROXY, NO_PROXY)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.proxy_env import proxy_for
from bot.slack.web.ratelimit import CappedRateLimitRetryHandler

DEFAULT_API_URL = "https://slack.com/api/"
TIMEOUT = 30
# Connections kept to Slack's API. aiohttp's default (100) opened one per reply in the first
# burst after start-up, each a TCP and TLS handshake on the event loop while the burst's
# acks waited (bench/load.py's first 100 `/aio top`: ack p50 190 ms, later bursts 70 ms).
# Replies queue for a connection instead: Slack posts at about one a second per channel.
CONNECTIONS = 8


def api_url(env: Mapping[str, str] = os.environ) -> str:
    """`SLACK_API_URL` with the trailing slash slack_sdk needs, or Slack's own."""
    url = env.get("SLACK_API_URL") or DEFAULT_API_URL
    return url if url.endswith("/") else url + "/"


@asynccontextmanager
async def slack_client(token: str, base_url: str = DEFAULT_API_URL
                       ) -> AsyncIterator[AsyncWebClient]:
    """`make_client` with one HTTP session whose connections are reused; closed on exit.
    Enter it inside the running event loop."""
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    # No trust_env: aiohttp would then read netrc and the proxy variables in the default
    # executor for every request, and under load (bench/load.py) Web API calls waited there
    # past their timeout. The proxy is set once, explicitly (`make_client`).
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        yield make_client(token, base_url, session)


def make_client(token: str, base_url: str = DEFAULT_API_URL,
                session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    """An AsyncWebClient that retries 429 (after Retry-After) and 5xx answers, and once a
    connection the server closed (a timed-out keep-alive connection, say); with
    `session`, its calls share that session's connections (see `slack_client`). Through
    the proxy the environment names for `base_url`, unless NO_PROXY says otherwise."""
    client = AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=TIMEOUT,
        session=session,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),  # slack_sdk's default one
            CappedRateLimitRetryHandler(max_retry_count=3),  # Retry-After, at most 30 s
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )
    client.proxy = proxy_for(base_url)  # slack_sdk's own reading ignores NO_PROXY
    return client
