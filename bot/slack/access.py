"""Who may use the bot where: Slack user and channel IDs from the configuration."""

from __future__ import annotations

from bot.config import SlackAccess


def may_use(access: SlackAccess, user_id: str, channel_id: str | None) -> bool:
    """True when the user and the channel are allowed (an empty list allows everyone).

    Checked on immutable Slack IDs, never on display names."""
    if access.allowed_users and user_id not in access.allowed_users:
        return False
    return not (access.allowed_channels and channel_id not in access.allowed_channels)
