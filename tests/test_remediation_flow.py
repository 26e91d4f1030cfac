"""Remediation end to end on the demo fleet, through the command registry: proposals,
who may approve, re-checks, execution over real SSH and the vCenter stand-in, the audit
trail, expiry, failures midway, restarts. (Slack's buttons drive the same service.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.demo import DemoFleet
from bot.errors import UsageError
from bot.esx.kernel import find_aio_setting
from bot.remediation.narrator import SayNarrator
from bot.remediation.service import Remediation, RequestRefused
from bot.sim import ops
from bot.store import open_store
from bot.store.api import State
from commands.catalog import build_registry
from commands.context import Context
from commands.results import AuditResult, ConfirmResult, OutcomeResult, PlanResult, TopResult

REGISTRY = build_registry()


@pytest.fixture
async def demo() -> AsyncIterator[DemoFleet]:
    async with DemoFleet() as fleet:
        yield fleet


def as_user(demo: DemoFleet, user: str, said: list[str] | None = None) -> Context:
    async def say(text: str) -> None:
        if said is not None:
            said.append(text)

    return demo.context(caller=user, narrator=SayNarrator(say))


async def run(demo: DemoFleet, text: str, user: str = "@you",
              said: list[str] | None = None) -> object:
    return await REGISTRY.run(text, as_user(demo, user, said))


async def test_fix_host01_end_to_end(demo: DemoFleet) -> None:
    plan = await run(demo, "fix host01")
    assert isinstance(plan, PlanResult) and plan.request.state is State.PROPOSED
    moved = [s.vm for s in plan.plan.steps]
    assert moved and all(s.kind.value == "migrate" for s in plan.plan.steps)
    assert all(s.vgpu_profile and s.power_state == "poweredOn" for s in plan.plan.steps)
    with pytest.raises(RequestRefused, match="someone else"):
        await run(demo, f"approve {plan.request.id}")
    with pytest.raises(RequestRefused, match="Only the configured approvers"):
        await run(demo, f"approve {plan.request.id}", user="@carol")
    said: list[str] = []
    outcome = await run(demo, f"approve {plan.request.id}", user="@alice", said=said)
    assert isinstance(outcome, OutcomeResult) and outcome.outcome.ok, outcome
    assert outcome.outcome.request.state is State.SUCCEEDED
    assert any("Migrating" in s for s in said) and any("Step 1 done" in s for s in said)
    top = await run(demo, "top host01 limit=1000")
    assert isinstance(top, TopResult)
    assert not set(moved) & {vm.name for vm in top.report.vms}
    assert top.report.percent_used < 80
    inventory = await demo.vcenter.inventory()  # type: ignore[union-attr]
    assert {v.name for v in inventory.vms_on("host01")}.isdisjoint(moved)
    audit = await run(demo, "audit host01")
    assert isinstance(audit, AuditResult)
    events = [e.event for e in audit.entries]
    assert events[0] == "proposed" and events[-1] == "succeeded"
    assert "approval-refused" in events and events.count("step-succeeded") == len(moved)
    assert [e.actor for e in audit.entries if e.event == "approved"] == ["@alice"]
    with pytest.raises(RequestRefused, match="already succeeded"):
        await run(demo, f"approve {plan.request.id}", user="@bob")


async def test_two_approvers_at_once_run_it_once(demo: DemoFleet) -> None:
    plan = await run(demo, "migrate vdi-eng-016")
    assert isinstance(plan, PlanResult) and len(plan.plan.steps) == 1
    results = await asyncio.gather(
        run(demo, f"approve {plan.request.id}", user="@alice"),
        run(demo, f"approve {plan.request.id}", user="@bob"),
        return_exceptions=True)
    ok = [r for r in results if isinstance(r, OutcomeResult)]
    refused = [r for r in results if isinstance(r, RequestRefused)]
    assert len(ok) == 1 and len(refused) == 1, results
    audit = await demo.store.audit_trail(request_id=plan.request.id)  # type: ignore[union-attr]
    assert [e.event for e in audit].count("step-started") == 1


async def test_raise_limit_then_reboot_on_an_eligible_host(demo: DemoFleet) -> None:
    plan = await run(demo, "fix host02")
    assert isinstance(plan, PlanResult)
    kinds = [s.kind.value for s in plan.plan.steps]
    assert kinds[0] == "raise-limit" and kinds[-1] == "reboot"
    asked = await run(demo, f"approve {plan.request.id}", user="@bob")  # a reboot: confirm
    assert isinstance(asked, ConfirmResult) and asked.request.state is State.PROPOSED
    outcome = await run(demo, f"approve {plan.request.id} confirm", user="@bob")
    assert isinstance(outcome, OutcomeResult) and outcome.outcome.ok, outcome.outcome.summary
    assert demo.transport is not None
    host02 = demo.inventory.get("host02")
    setting = find_aio_setting((await demo.transport.run(
        host02, "esxcli system settings kernel list -o FDSNumAIOHandles")).stdout)
    assert setting is not None and setting.runtime == setting.configured == 65536
    mode = await demo.transport.run(host02, "esxcli system maintenanceMode get")
    assert mode.stdout.strip() == "Disabled"


@pytest.mark.parametrize(("host", "why"), [("host05", "9.0"), ("host06", "7.0")])
async def test_raise_limit_is_never_offered_on_9_0_or_7_0(
    demo: DemoFleet, host: str, why: str
) -> None:
    with pytest.raises(UsageError, match=why):
        await run(demo, f"raise-limit {host}")
    try:
        plan = await run(demo, f"fix {host}")
    except UsageError as err:  # host06 has room: nothing to propose
        assert "nothing to do" in str(err)
        return
    assert isinstance(plan, PlanResult)
    assert "raise-limit" not in [s.kind.value for s in plan.plan.steps]


async def test_expired_request_is_refused(demo: DemoFleet) -> None:
    plan = await run(demo, "migrate vdi-eng-016")
    assert isinstance(plan, PlanResult)
    remediation = demo.remediation
    assert remediation is not None
    later = datetime.now(UTC) + timedelta(minutes=31)
    remediation.clock = lambda: later
    with pytest.raises(RequestRefused, match="expired"):
        await run(demo, f"approve {plan.request.id}", user="@alice")
    stored = await demo.store.get(plan.request.id)  # type: ignore[union-attr]
    assert stored is not None and stored.state is State.EXPIRED


async def test_precondition_changed_is_refused_with_the_reason(demo: DemoFleet) -> None:
    plan = await run(demo, "migrate vdi-eng-016 to host07")
    assert isinstance(plan, PlanResult)
    ops.migrate_vm(demo.host_dirs["host01"], demo.host_dirs["host04"], "vdi-eng-016")
    outcome = await run(demo, f"approve {plan.request.id}", user="@alice")
    assert isinstance(outcome, OutcomeResult) and not outcome.outcome.ok
    assert "no longer on host01" in outcome.outcome.summary
    assert "Nothing was changed" in outcome.outcome.summary
    inventory = await demo.vcenter.inventory()  # type: ignore[union-attr]
    assert "vdi-eng-016" in {v.name for v in inventory.vms_on("host04")}


async def test_a_step_failing_midway_leaves_a_failed_request_and_a_full_audit(
    demo: DemoFleet,
) -> None:
    plan = await run(demo, "fix host01")
    assert isinstance(plan, PlanResult) and len(plan.plan.steps) >= 2
    first_ok = demo.vcenter  # fail the second relocate only
    assert first_ok is not None
    original = first_ok.relocate
    calls = 0

    async def relocate_then_fail(vm, target, *, deadline):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        if calls == 2:
            first_ok.fail_next_relocate = "A general system error occurred: vMotion failed"
        return await original(vm, target, deadline=deadline)

    first_ok.relocate = relocate_then_fail  # type: ignore[method-assign]
    outcome = await run(demo, f"approve {plan.request.id}", user="@alice")
    assert isinstance(outcome, OutcomeResult) and not outcome.outcome.ok
    summary = outcome.outcome.summary
    assert f"Step 2 of {len(plan.plan.steps)} failed" in summary
    assert "vMotion failed" in summary and "still be running on host01" in summary
    assert plan.plan.steps[0].vm in summary  # what was done before it
    audit = await demo.store.audit_trail(request_id=plan.request.id)  # type: ignore[union-attr]
    assert [e.event for e in audit][-3:] == ["step-started", "step-failed", "failed"]


async def test_a_restart_between_proposal_and_approval_loses_nothing(demo: DemoFleet) -> None:
    plan = await run(demo, "migrate vdi-eng-016")
    assert isinstance(plan, PlanResult)
    assert demo.remediation is not None and demo.store is not None
    await demo.store.close()
    reopened = open_store(str(demo.root / "aio-bot.db"))
    await reopened.migrate()
    restarted = Remediation(reopened, demo.remediation.executors, demo.remediation.gate)
    ctx = as_user(demo, "@alice")
    ctx.remediation, ctx.store = restarted, reopened
    outcome = await REGISTRY.run(f"approve {plan.request.id}", ctx)
    await reopened.close()
    assert isinstance(outcome, OutcomeResult) and outcome.outcome.ok


async def test_dry_run_says_what_it_would_do_and_changes_nothing(demo: DemoFleet) -> None:
    assert demo.remediation is not None
    demo.remediation.executors.dry_run = True
    before = await run(demo, "top host02 limit=1000")
    plan = await run(demo, "fix host02")  # raise-limit, evacuate, reboot
    assert isinstance(plan, PlanResult) and isinstance(before, TopResult)
    outcome = await run(demo, f"approve {plan.request.id} confirm", user="@alice")
    assert isinstance(outcome, OutcomeResult) and outcome.outcome.ok
    assert outcome.outcome.summary.count("Dry run: would") == len(plan.plan.steps)
    after = await run(demo, "top host02 limit=1000")
    assert isinstance(after, TopResult)
    assert [v.name for v in after.report.vms] == [v.name for v in before.report.vms]
    assert after.report.limit == before.report.limit
