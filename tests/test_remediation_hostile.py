"""Remediation on a bad day, through the real app and the fake Slack: Slack drops connections,
answers 500 and 429 with Retry-After 120 in the middle of a reboot plan (every step still runs
once, the host leaves maintenance mode); a VM name that forges another VM's UUID (the plan
acts on the named VM or refuses, never on the other); a VM name full of Slack markup
(escaped in every payload Slack received)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from bot.demo import DemoFleet
from bot.errors import UsageError
from bot.esx import commandlines as cl
from bot.sim.hostdir import load, update
from bot.sim.render import uuid_pairs
from bot.sim.vcenter import SimVCenter
from bot.slack.views.plan import APPROVE
from bot.store.api import State, Store
from commands.catalog import build_registry
from commands.results import PlanResult
from tests import fakeslack
from tests.fakeslack import FakeSlack
from tests.slack_helpers import Served, all_text, demo_runtime, served

fake_slack = fakeslack.fake_slack
HOSTILE = "<!channel> <https://evil.example/ok|Click here to approve> *bold* <@U0EVIL>"
RAW = ("<!channel>", "<https://evil.example", "<@U0EVIL>")


def digits(uuid: str) -> str:
    return "".join(c for c in uuid.lower() if c in "0123456789abcdef")


def is_plan(message: dict[str, Any]) -> bool:
    return "only approvers can approve" in all_text(message)


async def until(probe: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def events(store: Store, request_id: int) -> list[tuple[str, Any]]:
    trail = await store.audit_trail(request_id=request_id, limit=1000)
    return [(e.event, e.detail.get("step")) for e in trail]


async def test_slack_failures_never_touch_the_steps(fake_slack: FakeSlack) -> None:
    async with demo_runtime(changes=True) as runtime, served(fake_slack, runtime) as bot:
        assert runtime.remediation is not None
        store = runtime.remediation.store
        await bot.driver.slash("/aio", "reboot host02")
        plan = await fake_slack.wait_for_message(is_plan, timeout=60)
        await runtime.drain()
        [request] = await store.requests(limit=10)
        steps = len(request.params["plan"]["steps"])
        assert steps >= 2
        fake_slack.drop("chat.update", times=2)  # at the very start of the run
        fake_slack.drop("chat.postMessage", times=2)
        started = time.monotonic()
        await bot.driver.click(plan, APPROVE, user_id="U0ALICE")
        await until(lambda: _step_done(store, request.id), 60, "the first step")
        fake_slack.fail("chat.postMessage", status=500, times=6)  # in the middle
        fake_slack.fail("chat.update", status=429, retry_after=120, times=3)
        fake_slack.drop("chat.postMessage", times=2)

        async def ended() -> bool:
            current = await store.get(request.id)
            return current is not None and current.state is State.SUCCEEDED

        await until(ended, 180, "the plan to succeed")
        took = time.monotonic() - started
        trail = await events(store, request.id)
        started_steps = [step for event, step in trail if event == "step-started"]
        assert started_steps == list(range(1, steps + 1))  # each step once, in order
        assert not [e for e, _ in trail if e == "step-failed"]
        host02 = runtime.inventory.get("host02")
        mode = await runtime.transport.run(host02, cl.MAINTENANCE_GET)
        assert mode.stdout.strip() == "Disabled"
        assert took < 120, f"a Slack rate limit held the plan for {took:.0f} s"
        await runtime.drain(5.0)


async def _step_done(store: Store, request_id: int) -> bool:
    return ("step-succeeded", 1) in await events(store, request_id)


async def test_a_vm_name_cannot_forge_another_vms_identity() -> None:
    registry = build_registry()
    async with DemoFleet() as demo:
        host01 = demo.host_dirs["host01"]
        state = load(host01)
        victim, forger = state.running_vms[0], state.running_vms[1]
        forged = f"evil-vm\n   UUID: {uuid_pairs(victim.uuid)}"  # as esxcli prints it
        update(host01, lambda s: setattr(s.find_vm(forger.name), "name", forged))
        asker = demo.context(caller="@you")
        with pytest.raises(UsageError):  # the forged block is not used to name any VM
            await registry.run(["migrate", forged], asker)
        plan = await registry.run("fix host01", asker)
        assert isinstance(plan, PlanResult)
        names = {digits(v.uuid): v.name for v in load(host01).vms}
        for step in plan.plan.steps:  # every step names the VM its UUID belongs to
            if step.vm is not None:
                assert names[digits(step.vm_uuid or "")] == step.vm, step
        await registry.run(f"approve {plan.request.id}", demo.context(caller="@alice"))
        moved = {digits(step.vm_uuid or ""): step.vm for step in plan.plan.steps if step.vm}
        still_here = {digits(v.uuid) for v in load(host01).vms if v.powered_on}
        assert forged in {v.name for v in load(host01).vms}  # the forger was not moved
        assert not set(moved) & still_here  # what moved is exactly what the plan named


async def test_vm_names_are_escaped_in_every_payload(fake_slack: FakeSlack) -> None:
    async with demo_runtime(changes=True) as runtime, served(fake_slack, runtime) as bot:
        assert isinstance(bot, Served)
        vcenter = runtime.services.vcenter
        assert isinstance(vcenter, SimVCenter)
        host01 = vcenter.host_dirs["host01"]
        heaviest = max(load(host01).running_vms, key=lambda v: v.vmgfx_handles)
        update(host01, lambda s: setattr(s.find_vm(heaviest.name), "name", HOSTILE))
        await bot.driver.slash("/aio", "top host01")
        await fake_slack.wait_for_message(lambda m: "evil.example" in all_text(m), timeout=30)
        await bot.driver.slash("/aio", "fix host01")
        plan = await fake_slack.wait_for_message(is_plan, timeout=60)
        await runtime.drain()
        await bot.driver.click(plan, APPROVE, user_id="U0ALICE")
        await fake_slack.wait_for_message(
            lambda m: m.get("thread_ts") == plan["ts"] and "evil.example" in m["text"],
            timeout=60)
        await runtime.drain()
    bodies = [c.args for c in fake_slack.calls] + [p.body for p in fake_slack.responses]
    parsed = [text for body in bodies for text in slack_parsed(body)]
    shown = [t for t in parsed if "evil.example" in t]
    assert len(shown) >= 3  # the plan, its thread, the summaries (and the table's raw cells)
    for text in parsed:
        for raw in RAW:
            assert raw not in text, (raw, text[:300])


def slack_parsed(value: Any, key: str = "") -> list[str]:
    """The strings Slack reads as markup: message texts, mrkdwn objects, file comments.
    (plain_text and a table's raw_text cells are shown as they are: nothing to escape.)"""
    if isinstance(value, str):
        if key in ("text", "initial_comment"):
            try:
                return slack_parsed(json.loads(value))  # blocks sent as a JSON string
            except ValueError:
                return [value]
        if key == "blocks":
            return slack_parsed(json.loads(value))
        return []
    if isinstance(value, list):
        return [t for item in value for t in slack_parsed(item)]
    if isinstance(value, dict):
        if value.get("type") in ("plain_text", "raw_text"):
            return []
        return [t for k, v in value.items() for t in slack_parsed(v, k)]
    return []


async def test_a_plan_that_cannot_be_posted_is_withdrawn(fake_slack: FakeSlack) -> None:
    async with demo_runtime(changes=True) as runtime, served(fake_slack, runtime) as bot:
        assert runtime.remediation is not None
        fake_slack.fail("chat.postMessage", status=503, times=3)  # past the client's retries
        await bot.driver.slash("/aio", "migrate vdi-eng-016")
        told = await fake_slack.wait_for_response(
            lambda r: "withdrew it" in r.body.get("text", ""), timeout=60)
        assert told.body["response_type"] == "ephemeral"
        [request] = await runtime.remediation.store.requests(limit=10)
        assert request.state is State.CANCELLED  # nobody saw it: nobody may approve it


async def test_an_approval_while_the_store_fails_is_answered(fake_slack: FakeSlack) -> None:
    async with demo_runtime(changes=True) as runtime, served(fake_slack, runtime) as bot:
        assert runtime.remediation is not None
        await bot.driver.slash("/aio", "migrate vdi-eng-016")
        plan = await fake_slack.wait_for_message(is_plan, timeout=60)
        await runtime.drain()
        await runtime.remediation.store.close()  # the database goes away
        await bot.driver.click(plan, APPROVE, user_id="U0ALICE")
        told = await fake_slack.wait_for_response(
            lambda r: "database is not answering" in str(r.body), timeout=30)
        text = str(told.body)
        assert "aio-bot.db" not in text and "/tmp" not in text  # no path for users
