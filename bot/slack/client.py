"""The Web API client: base URL from `SLACK_API_URL` (GovSlack, proxies, the test harness),
and retries on rate limits and server errors, which slack_sdk's async client does not do
unless told."""

from __future__ import annotations

import os
from collections.abc import Mapping

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

DEFAULT_API_URL = "https://slack.com/api/"
TIMEOUT = 30


def api_url(env: Mapping[str, str] = os.environ) -> str:
    """`SLACK_API_URL` with the trailing slash slack_sdk needs, or Slack's own."""
    url = env.get("SLACK_API_URL") or DEFAULT_API_URL
    return url if url.endswith("/") else url + "/"


def make_client(token: str, base_url: str = DEFAULT_API_URL) -> AsyncWebClient:
    """An AsyncWebClient that retries 429 (after Retry-After) and 5xx answers."""
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=TIMEOUT,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )
