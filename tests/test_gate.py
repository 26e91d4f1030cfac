"""The one gate (bot.gate), rule by rule. User groups are resolved by the real client against
the fake Slack's `usergroups.users.list`; the per-user limit counts proposals in a real
SQLite store. Each entry point is driven through it in tests/test_gate_entry_points.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import RemediationConfig, SlackAccess
from bot.gate import Caller, Effect, Gate, Refused
from bot.slack.web.client import make_client
from bot.slack.web.usergroups import UserGroups
from bot.store import NewRequest, Request, State, Store, open_store
from tests import fakeslack
from tests.fakeslack import FakeSlack

fake_slack = fakeslack.fake_slack
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HOME = "T0HOME"


def slack(user: str, channel: str = "C0OPS", team: str | None = HOME, *,
          direct: bool = False) -> Caller:
    return Caller(user, "slack", channel, team, direct)


def request(requested_by: str = "U0ASKER") -> Request:
    return Request(1, "migrate", "vm1", "host01", {}, State.PROPOSED, requested_by, NOW,
                   NOW + timedelta(minutes=30), NOW)


def gate(**access: object) -> Gate:
    return Gate(SlackAccess(**access), home_team=HOME)  # type: ignore[arg-type]


async def refused(g: Gate, caller: Caller, effect: Effect, req: Request | None = None) -> str:
    with pytest.raises(Refused) as err:
        await g.authorize(caller, effect, req)
    return str(err.value)


# --- workspace, users, channels, direct messages -----------------------------------------------


async def test_other_workspace_refused_unless_listed() -> None:
    assert "workspace" in await refused(gate(), slack("U1", team="T0OTHER"), Effect.READ)
    await gate(allowed_teams=("T0OTHER",)).authorize(slack("U1", team="T0OTHER"), Effect.READ)
    await gate().authorize(slack("U1"), Effect.READ)


async def test_unknown_home_workspace_fails_closed() -> None:
    g = Gate(SlackAccess())  # auth.test has not answered
    assert "workspace" in await refused(g, slack("U1"), Effect.READ)


async def test_allowed_users_and_channels() -> None:
    g = gate(allowed_users=("U1",), allowed_channels=("C0OPS",))
    await g.authorize(slack("U1"), Effect.READ)
    assert "not enabled" in await refused(g, slack("U2"), Effect.READ)
    assert "not enabled" in await refused(g, slack("U1", "C0RANDOM"), Effect.READ)


async def test_direct_messages_read_but_do_not_change() -> None:
    g = gate(allowed_channels=("C0OPS",), approvers=("U1",))
    dm = slack("U1", "D0DM", direct=True)
    await g.authorize(dm, Effect.READ)
    for effect in (Effect.PROPOSE, Effect.APPROVE, Effect.REJECT):
        assert "direct message" in await refused(g, dm, effect, request())
    await gate(approve_in_dm=True, approvers=("U1",)).authorize(dm, Effect.APPROVE, request())


async def test_local_callers_skip_slack_place_rules_not_approvers() -> None:
    g = gate(allowed_users=("U1",), allowed_channels=("C0OPS",), approvers=("@alice",))
    await g.authorize(Caller("cli", "cli"), Effect.READ)
    await g.authorize(Caller("@alice", "console"), Effect.APPROVE, request())
    assert "approvers" in await refused(g, Caller("cli", "cli"), Effect.APPROVE, request())


# --- approvers, four-eyes, rejecting -----------------------------------------------------------


async def test_approvers_and_four_eyes() -> None:
    g = gate(approvers=("U0ALICE", "U0ASKER"))
    await g.authorize(slack("U0ALICE"), Effect.APPROVE, request())
    assert "someone else" in await refused(g, slack("U0ASKER"), Effect.APPROVE, request())
    assert "approvers" in await refused(g, slack("U0MALLORY"), Effect.APPROVE, request())
    selfish = Gate.from_config(SlackAccess(approvers=("U0ASKER",)),
                               RemediationConfig(allow_self_approval=True))
    selfish.home_team = HOME
    await selfish.authorize(slack("U0ASKER"), Effect.APPROVE, request())


async def test_reject_by_requester_or_approver_only() -> None:
    g = gate(approvers=("U0ALICE",))
    await g.authorize(slack("U0ASKER"), Effect.REJECT, request())  # withdrawing their own
    await g.authorize(slack("U0ALICE"), Effect.REJECT, request())
    assert "reject" in await refused(g, slack("U0MALLORY"), Effect.REJECT, request())


@pytest.fixture
async def groups(fake_slack: FakeSlack) -> AsyncIterator[tuple[FakeSlack, Gate]]:
    fake_slack.usergroups["S0ONCALL"] = ["U0BOB", "U0CAROL"]
    g = gate(approvers=("U0ALICE", "S0ONCALL"))
    g.group_members = UserGroups(make_client("xoxb-test", fake_slack.api_url)).members
    yield fake_slack, g


async def test_group_members_approve_others_do_not(groups: tuple[FakeSlack, Gate]) -> None:
    fake, g = groups
    await g.authorize(slack("U0BOB"), Effect.APPROVE, request())
    assert "approvers" in await refused(g, slack("U0DAVE"), Effect.APPROVE, request())
    calls = fake.calls_to("usergroups.users.list")
    assert calls and calls[0].args["usergroup"] == "S0ONCALL"


async def test_group_answers_are_cached_for_a_minute(groups: tuple[FakeSlack, Gate]) -> None:
    fake, g = groups
    clock = [0.0]
    g.clock = lambda: clock[0]
    await g.authorize(slack("U0BOB"), Effect.APPROVE, request())
    fake.usergroups["S0ONCALL"] = ["U0CAROL"]  # Bob leaves the group
    await g.authorize(slack("U0BOB"), Effect.APPROVE, request())  # the cached answer
    clock[0] = 61.0
    assert "approvers" in await refused(g, slack("U0BOB"), Effect.APPROVE, request())
    assert len(fake.calls_to("usergroups.users.list")) == 2


async def test_a_slack_error_refuses_never_grants(groups: tuple[FakeSlack, Gate]) -> None:
    fake, g = groups
    fake.fail("usergroups.users.list", error="missing_scope")  # no usergroups:read
    assert "could not check" in await refused(g, slack("U0BOB"), Effect.APPROVE, request())
    fake.fail("usergroups.users.list", status=503, times=5)  # past the client's retries
    assert "could not check" in await refused(g, slack("U0BOB"), Effect.APPROVE, request())
    fake.usergroups.pop("S0ONCALL")  # the group is gone
    assert "could not check" in await refused(g, slack("U0BOB"), Effect.APPROVE, request())
    await g.authorize(slack("U0ALICE"), Effect.APPROVE, request())  # named users still work


async def test_group_approvers_without_slack_are_refused() -> None:
    g = gate(approvers=("S0ONCALL",))  # the console on a configuration with groups
    assert "could not check" in await refused(g, Caller("U0BOB", "console"), Effect.APPROVE,
                                              request())


# --- open proposals per user -------------------------------------------------------------------


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = open_store(str(tmp_path / "aio.db"))
    await s.migrate()
    yield s
    await s.close()


async def test_open_proposals_are_limited_and_named(store: Store) -> None:
    async def open_proposals(user: str) -> list[Request]:
        return [r for r in await store.requests(limit=1000) if r.requested_by == user]

    g = gate()
    g.max_open_per_user = 2
    g.open_proposals = open_proposals
    for n in range(2):
        await g.authorize(slack("U1"), Effect.PROPOSE)
        await store.create(NewRequest("migrate", f"vm{n}", "host01", {}, "U1",
                                      NOW + timedelta(minutes=30)), now=NOW)
    text = await refused(g, slack("U1"), Effect.PROPOSE)
    assert "#1, #2" in text and "limit is 2" in text
    await g.authorize(slack("U2"), Effect.PROPOSE)  # another person's count


# --- silencing alerts and the Alertmanager service identity -------------------------------------


async def test_silencing_is_for_whoever_may_use_the_bot_there_not_only_approvers() -> None:
    g = gate(allowed_users=("U0ONCALL",), allowed_channels=("C0OPS",), approvers=("U0BOSS",))
    await g.authorize(slack("U0ONCALL"), Effect.SILENCE)  # not an approver: allowed
    assert "Sorry" in await refused(g, slack("U0STRANGER"), Effect.SILENCE)
    assert "Sorry" in await refused(g, slack("U0ONCALL", "C0RANDOM"), Effect.SILENCE)
    dm = slack("U0ONCALL", "D0DM", direct=True)
    assert "direct message" in await refused(g, dm, Effect.SILENCE)
    assert Effect.SILENCE.changes and not Effect.SILENCE.remediates


async def test_alertmanager_may_only_read() -> None:
    service = Caller("alertmanager", "alertmanager", "C0INCIDENT")
    g = gate(allowed_users=("U0ONCALL",), approvers=("alertmanager",))  # even if listed
    await g.authorize(service, Effect.READ)  # not a Slack user in allowed_users: reads anyway
    for effect in (Effect.PROPOSE, Effect.APPROVE, Effect.REJECT, Effect.SILENCE):
        assert "service identity" in await refused(g, service, effect)
        assert "service identity" in await refused(g, service, effect, request())
    only_ops = gate(allowed_channels=("C0OPS",))
    assert "Sorry" in await refused(only_ops, service, Effect.READ)  # channel rules hold
