"""Slack delivers some requests more than once (Events API retries with `X-Slack-Retry-Num`,
Socket Mode redeliveries). `SeenKeys` remembers what was handled for a while."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

DEFAULT_TTL = 15 * 60.0  # Slack's last retry comes about 5 minutes after the first try


class SeenKeys:
    """An in-memory set whose members expire after `ttl` seconds (one replica only)."""

    def __init__(self, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic,
                 max_size: int = 100_000) -> None:
        self.ttl = ttl
        self._clock = clock
        self._max_size = max_size
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, key: str) -> bool:
        """Record `key`; True if it was not seen within the last `ttl` seconds."""
        now = self._clock()
        self._expire(now)
        if key in self._seen:
            return False
        self._seen[key] = now
        while len(self._seen) > self._max_size:
            self._seen.popitem(last=False)
        return True

    def _expire(self, now: float) -> None:
        while self._seen:
            key, at = next(iter(self._seen.items()))
            if now - at < self.ttl:
                break
            del self._seen[key]


def delivery_key(body: Mapping[str, Any]) -> str | None:
    """What identifies one delivery: the event ID of an event, the trigger ID of a slash
    command or a click. None when the body has neither (it is then never dropped)."""
    event_id, trigger_id = body.get("event_id"), body.get("trigger_id")
    if isinstance(event_id, str):
        return "event:" + event_id
    if isinstance(trigger_id, str):
        return "trigger:" + trigger_id
    return None
