"""The one "now" of the bot: timezone-aware UTC. Anything that needs time takes a clock
(a callable returning this) so that tests can set it."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
