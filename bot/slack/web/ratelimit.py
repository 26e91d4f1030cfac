"""Slack's 429 answers, retried after their Retry-After, but never waiting longer than
`MAX_RETRY_AFTER` at a time: slack_sdk's own handler honours any Retry-After (120 s, say),
which would hold a caller, or a queue of progress posts, for minutes."""

from __future__ import annotations

import asyncio
import random

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

MAX_RETRY_AFTER = 30.0  # seconds, the same cap as the response_url poster's


class CappedRateLimitRetryHandler(AsyncRetryHandler):
    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None,
                               error: Exception | None = None) -> bool:
        return response is not None and response.status_code == 429

    async def prepare_for_next_attempt_async(self, *, state: RetryState, request: HttpRequest,
                                             response: HttpResponse | None = None,
                                             error: Exception | None = None) -> None:
        state.next_attempt_requested = True
        await asyncio.sleep(retry_after(response) + random.random())
        state.increment_current_attempt()


def retry_after(response: HttpResponse | None, cap: float = MAX_RETRY_AFTER) -> float:
    """Seconds to wait: the Retry-After header (1 s when absent or unreadable), at most
    `cap`."""
    headers = response.headers if response is not None else {}
    for key, values in headers.items():
        if key.lower() == "retry-after":
            value = values[0] if isinstance(values, list) and values else values
            try:
                return max(0.0, min(cap, float(str(value))))
            except ValueError:
                break
    return 1.0
