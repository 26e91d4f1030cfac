"""The one gate: who may do what, from where. Every entry point (slash command, mention,
button, console line, CLI) asks `Gate.authorize` before anything runs, and the remediation
service asks again, with the request in hand, before it approves, rejects or proposes.

Rules, in order:
- the workspace: the one the bot is installed in, or one listed in `[slack] allowed_teams`;
- users and channels: `[slack] allowed_users` / `allowed_channels` (empty: everyone); a direct
  message is not a channel of the list: reads are allowed there, changes (proposals and
  approvals) only with `[slack] approve_in_dm = true`;
- approving: configured approvers only (user IDs, or user group IDs resolved through Slack's
  `usergroups.users.list`, cached for 60 s; when Slack cannot answer, refused, never granted),
  and not the requester (four-eyes) unless `[remediation] allow_self_approval`;
- rejecting: an approver, or the requester withdrawing their own;
- proposing: at most `[remediation] max_open_per_user` open proposals per person;
- silencing an alert (acknowledge, snooze): anyone the workspace, user and channel rules let
  in (not only approvers: whoever is on call); like a change, not from a direct message
  unless `[slack] approve_in_dm`;
- service callers (`front="alertmanager"`, authenticated by a bearer token, not a Slack
  user) may only READ, in an allowed channel: never propose, approve, reject or silence.

The console and the CLI are local callers (someone with the configuration and its secrets on
this machine): workspace, user, channel and DM rules speak of Slack and do not apply to them;
approvers, four-eyes and the per-user limit do. User-facing sentences live in `bot.messages`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from enum import Enum

from bot import messages
from bot.config import RemediationConfig, SlackAccess
from bot.errors import UsageError
from bot.store.api import Request

log = logging.getLogger(__name__)

GroupMembers = Callable[[str], Awaitable[frozenset[str]]]
OpenProposals = Callable[[str], Awaitable[list[Request]]]
GROUP_CACHE_SECONDS = 60.0
LOCAL_FRONTS = frozenset({"console", "cli"})
SERVICE_FRONTS = frozenset({"alertmanager"})  # machines with a token: reads only


class Effect(Enum):
    """What running a command does; each command declares one."""

    READ = "read"  # reads hosts, vCenter or the store
    PROPOSE = "propose"  # opens a change request
    APPROVE = "approve"  # approves a request, which runs it
    REJECT = "reject"  # rejects a request, or withdraws one's own
    SILENCE = "silence"  # acknowledges or snoozes an alert incident

    @property
    def changes(self) -> bool:
        return self is not Effect.READ

    @property
    def remediates(self) -> bool:
        """Needs the remediation service (a vCenter and a store)."""
        return self in (Effect.PROPOSE, Effect.APPROVE, Effect.REJECT)


@dataclass(frozen=True)
class Caller:
    """Who is asking, and from where. Slack IDs are immutable; display names never count."""

    user: str
    front: str = "console"  # slack | console | cli | alertmanager
    channel: str | None = None
    team: str | None = None
    direct: bool = False  # a direct message with the bot

    @property
    def local(self) -> bool:
        return self.front in LOCAL_FRONTS

    @property
    def service(self) -> bool:
        return self.front in SERVICE_FRONTS

    def acting_as(self, user: str) -> Caller:
        """The console's and the CLI's `approve 3 as U0BOB`: the same front, another user."""
        return replace(self, user=user)


class Refused(UsageError):
    """The gate said no; `str(err)` is the sentence the caller reads."""


@dataclass
class Gate:
    access: SlackAccess = field(default_factory=SlackAccess)
    allow_self_approval: bool = False
    max_open_per_user: int = RemediationConfig.max_open_per_user
    group_members: GroupMembers | None = None  # set by the Slack front end
    open_proposals: OpenProposals | None = None  # set by the assembly when there is a store
    home_team: str | None = None  # the workspace the bot is installed in (auth.test)
    clock: Callable[[], float] = time.monotonic
    _groups: dict[str, tuple[float, frozenset[str]]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_config(cls, access: SlackAccess, remediation: RemediationConfig) -> Gate:
        return cls(access, remediation.allow_self_approval, remediation.max_open_per_user)

    async def authorize(self, caller: Caller, effect: Effect,
                        request: Request | None = None) -> None:
        """Return when `caller` may do `effect` (to `request`, when given); else Refused.
        Rules about a request (approvers, four-eyes, who may reject) are checked when the
        request is given: the remediation service does so before it acts on one."""
        if caller.service:
            self._check_service(caller, effect)
            return
        if not caller.local:
            self._check_place(caller, effect)
        if effect is Effect.APPROVE and request is not None:
            self._check_four_eyes(caller, request)
            await self._check_approver(caller)
        elif effect is Effect.REJECT and request is not None:
            if caller.user != request.requested_by:
                await self._check_approver(caller, rejecting=True)
        elif effect is Effect.PROPOSE:
            await self._check_open(caller)

    def _check_place(self, caller: Caller, effect: Effect) -> None:
        access = self.access
        if caller.team and caller.team != self.home_team and caller.team not in (
                access.allowed_teams):
            raise Refused(messages.gate_other_team())
        if access.allowed_users and caller.user not in access.allowed_users:
            raise Refused(messages.slack_refused())
        if caller.direct:
            if effect.changes and not access.approve_in_dm:
                raise Refused(messages.gate_no_changes_in_dm())
        elif access.allowed_channels and caller.channel not in access.allowed_channels:
            raise Refused(messages.slack_refused())

    def _check_service(self, caller: Caller, effect: Effect) -> None:
        """A service identity reads and posts where it is allowed; nothing else, ever."""
        if effect is not Effect.READ:
            raise Refused(messages.gate_service_reads_only(caller.user))
        access = self.access
        if access.allowed_channels and caller.channel not in access.allowed_channels:
            raise Refused(messages.slack_refused())

    async def _check_approver(self, caller: Caller, *, rejecting: bool = False) -> None:
        approvers = self.access.approvers
        if caller.user in approvers:
            return
        groups = [a for a in approvers if a.startswith("S")]
        if groups and await self._in_groups(caller.user, groups):
            return
        raise Refused(messages.gate_reject_not_allowed() if rejecting
                      else messages.gate_not_approver())

    def _check_four_eyes(self, caller: Caller, request: Request) -> None:
        if caller.user == request.requested_by and not self.allow_self_approval:
            raise Refused(messages.gate_own_request())

    async def _check_open(self, caller: Caller) -> None:
        if self.open_proposals is None:
            return
        mine = await self.open_proposals(caller.user)
        if len(mine) >= self.max_open_per_user:
            raise Refused(messages.gate_too_many_open(self.max_open_per_user,
                                                      [r.id for r in mine]))

    async def _in_groups(self, user: str, groups: list[str]) -> bool:
        if self.group_members is None:
            raise Refused(messages.gate_groups_unknown())
        try:
            members = await asyncio.gather(*(self._members(g) for g in groups))
        except Refused:
            raise
        except Exception as err:  # Slack could not say: refuse, never grant
            log.warning("could not resolve approver groups (%s): approval refused",
                        type(err).__name__)
            raise Refused(messages.gate_groups_unknown()) from None
        return any(user in m for m in members)

    async def _members(self, group: str) -> frozenset[str]:
        now = self.clock()
        cached = self._groups.get(group)
        if cached is not None and now - cached[0] < GROUP_CACHE_SECONDS:
            return cached[1]
        members = await self.group_members(group) if self.group_members else frozenset()
        self._groups[group] = (now, members)
        return members
