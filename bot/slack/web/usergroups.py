"""Approver user groups (`S…` IDs): their members from Slack's `usergroups.users.list`
(scope `usergroups:read`). The gate caches the answer for 60 s and refuses an approval when
Slack cannot answer."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.web.client import api_url, make_client


@dataclass(frozen=True)
class UserGroups:
    client: AsyncWebClient

    @classmethod
    def from_token(cls, token: str) -> UserGroups:
        return cls(make_client(token, api_url()))

    async def members(self, group: str) -> frozenset[str]:
        """The group's user IDs; raises (SlackApiError, a connection error) when Slack cannot
        say, which the gate takes as a refusal."""
        answer = await self.client.usergroups_users_list(usergroup=group)
        return frozenset(str(u) for u in answer.get("users") or [])
