"""Who may approve: configured approvers (Slack user IDs, or user group IDs resolved through
a callback), and by default never the requester."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

GroupMembers = Callable[[str], Awaitable[set[str]]]


@dataclass(frozen=True)
class ApprovalPolicy:
    approvers: frozenset[str]
    allow_self_approval: bool = False
    group_members: GroupMembers | None = None

    async def refusal(self, user: str, requested_by: str) -> str | None:
        """None when `user` may approve a request made by `requested_by`, else why not."""
        if user == requested_by and not self.allow_self_approval:
            return "You asked for this change; someone else has to approve it."
        if user in self.approvers or await self._in_group(user):
            return None
        return "Only the configured approvers can approve changes."

    async def _in_group(self, user: str) -> bool:
        if self.group_members is None:
            return False
        for group in self.approvers:
            if group.startswith("S") and user in await self.group_members(group):
                return True
        return False
