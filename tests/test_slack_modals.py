"""Pick, don't type: the Move a VM and Power off modals through the real app and the fake
Slack (views.open on a fresh trigger, views.update, block_suggestion, view_submission), on
the demo fleet behind real SSH and its vCenter stand-in.

The modal opens from a `top` message and from the global shortcut, offers the host's VMs
heaviest first, then only the hosts the planner would move the VM to, each with its projected
usage; submitting proposes exactly as `/aio migrate` does, through the gate, checked against
the channel the proposal goes to; refusals and mistakes come back in the modal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
import yaml

from bot.config import SlackAccess
from bot.esx.collect import collect_host
from bot.remediation.plan import StepKind
from bot.slack.views import modals
from bot.slack.views.top import MOVE_VM, POWER_OFF
from bot.store.api import State
from tests import fakeslack
from tests.fakeslack import ACK_DEADLINE, FakeSlack
from tests.slack_helpers import Served, all_text, assert_every_message_valid, demo_runtime, served

fake_slack = fakeslack.fake_slack
ROOT = Path(__file__).resolve().parent.parent
CHANNEL = "C0OPS"
USER = "U0OPERATOR"


@pytest_asyncio.fixture
async def bot(fake_slack: FakeSlack) -> AsyncIterator[Served]:
    async with demo_runtime(changes=True) as runtime, served(fake_slack, runtime) as s:
        yield s
    assert_every_message_valid(fake_slack)


def is_top(message: dict[str, Any]) -> bool:
    return any(b["type"] == "table" for b in message.get("blocks", []))


def is_plan(message: dict[str, Any]) -> bool:
    return "only approvers can approve" in all_text(message)


def element(view: dict[str, Any], action_id: str) -> dict[str, Any]:
    return fakeslack.modals.find_element(view, action_id)[1]


def has(action_id: str) -> Any:
    def probe(view: dict[str, Any]) -> bool:
        try:
            element(view, action_id)
        except AssertionError:
            return False
        return True
    return probe


async def top_message(bot: Served, host: str = "host01") -> dict[str, Any]:
    await bot.driver.slash("/aio", f"top {host}")
    return await bot.fake.wait_for_message(is_top, timeout=10)


async def expected_targets(bot: Served, vm_name: str) -> dict[str, tuple[float, float]]:
    """host -> (now %, after %) for the hosts that can take the VM, worked out here from the
    hosts' own reports and vCenter: same cluster, its vGPU profile offered, connected, and
    under the warning threshold after the move."""
    rt = bot.runtime
    assert rt.vcenter is not None
    vc = await rt.vcenter.inventory()
    source = await collect_host(rt.transport, rt.inventory.get("host01"))
    [vm] = [v for v in source.vms if v.name == vm_name]
    [vc_vm] = [v for v in vc.vms if v.name == vm_name]
    found = {}
    for entry in rt.inventory.in_cluster(rt.inventory.get("host01").cluster):
        host = vc.host(entry.name)
        if entry.name == "host01" or host is None or host.in_maintenance:
            continue
        r = await collect_host(rt.transport, entry)
        after = 100.0 * (r.in_use + vm.char_handles) / r.limit.runtime
        if set(vc_vm.vgpu_profiles) <= set(host.vgpu_profiles) and (
                after < rt.thresholds.warning_percent):
            found[entry.name] = (r.percent_used, after)
    return found


async def test_move_a_vm_from_a_top_message(bot: Served) -> None:
    top = await top_message(bot)
    ack = await bot.driver.click(top, MOVE_VM)
    assert ack.status == 200 and ack.elapsed < ACK_DEADLINE
    view = await bot.driver.modal(predicate=has(modals.VM))
    assert view["title"]["text"] == "Move a VM" and view["callback_id"] == modals.MOVE_VM
    # the host's VMs, heaviest first
    report = await collect_host(bot.runtime.transport, bot.runtime.inventory.get("host01"))
    named = sorted((v for v in report.vms if v.name), key=lambda v: -v.char_handles)
    options = element(view, modals.VM)["options"]
    assert [o["value"] for o in options] == [v.name for v in named][:100]
    assert f"{named[0].char_handles:,} handles" in options[0]["text"]["text"]
    assert "submit" not in view or view["submit"]["text"] == "Propose"

    heaviest = named[0].name
    assert heaviest is not None
    await bot.driver.pick(view, modals.VM, heaviest)
    view = await bot.driver.modal(predicate=has(modals.TARGET))
    targets = element(view, modals.TARGET)["options"]
    projected = await expected_targets(bot, heaviest)
    assert {o["value"] for o in targets} == set(projected)  # no host without room or profile
    assert "host03" not in projected and "host05" not in projected and len(projected) >= 2
    for option in targets:
        now, after = projected[option["value"]]
        assert f"{now:.0f}% → {after:.0f}%" in option["text"]["text"]
    best = element(view, modals.TARGET)["initial_option"]
    assert "(best)" in best["text"]["text"]
    assert element(view, modals.CHANNEL)["initial_conversation"] == CHANNEL

    chosen = sorted(set(projected) - {best["value"]})[0]  # not the planner's own choice
    await bot.driver.pick(view, modals.TARGET, chosen)
    answer = await bot.driver.submit(view)
    assert answer.json()["response_action"] == "update"
    plan = await bot.fake.wait_for_message(is_plan, timeout=30)
    assert plan["channel"] == CHANNEL and f"Migrate {heaviest}" in all_text(plan)
    assert f"<@{USER}>" in all_text(plan)
    done = await bot.driver.modal(predicate=lambda v: "Posted in" in all_text(v))
    assert f"<#{CHANNEL}>" in all_text(done)
    await bot.runtime.drain()
    remediation = bot.runtime.remediation
    assert remediation is not None
    [request] = await remediation.store.requests(host="host01")
    assert request.requested_by == USER and request.state is State.PROPOSED
    assert (request.channel, request.message_ts) == (CHANNEL, plan["ts"])
    [step] = request.params["plan"]["steps"]
    assert (step["kind"], step["vm"], step["target"]) == (StepKind.MIGRATE.value, heaviest,
                                                          chosen)


async def test_move_a_vm_from_the_shortcut(bot: Served) -> None:
    ack = await bot.driver.shortcut(modals.MOVE_VM)
    assert ack.status == 200 and ack.elapsed < ACK_DEADLINE
    view = await bot.driver.modal(predicate=has(modals.HOST))
    assert element(view, modals.HOST)["type"] == "external_select"
    assert element(view, modals.VM)["type"] == "external_select"
    assert "initial_conversation" not in element(view, modals.CHANNEL)

    hosts = await bot.driver.suggest(view, modals.HOST, "host0")
    assert [o["value"] for o in hosts] == [f"host0{i}" for i in range(1, 9)]
    assert [o["value"] for o in await bot.driver.suggest(view, modals.HOST, "07")] == ["host07"]
    anywhere = await bot.driver.suggest(view, modals.VM, "")
    assert anywhere and len(anywhere) <= 100

    await bot.driver.pick(view, modals.HOST, hosts[0])  # host01
    view = await bot.driver.modal(predicate=lambda v: element(v, modals.VM)["type"]
                                  == "static_select" if has(modals.VM)(v) else False)
    assert element(view, modals.HOST)["initial_option"]["value"] == "host01"
    heaviest = element(view, modals.VM)["options"][0]["value"]
    searched = await bot.driver.suggest(view, modals.VM, heaviest)
    assert searched[0]["value"] == heaviest  # the search is of host01's VMs now

    await bot.driver.pick(view, modals.VM, heaviest)
    view = await bot.driver.modal(predicate=has(modals.TARGET))
    assert {o["value"] for o in element(view, modals.TARGET)["options"]} == set(
        await expected_targets(bot, heaviest))
    await bot.driver.pick(view, modals.CHANNEL, "C0INCIDENT")
    answer = await bot.driver.submit(view)
    assert answer.json()["response_action"] == "update"
    plan = await bot.fake.wait_for_message(
        lambda m: is_plan(m) and m.get("channel") == "C0INCIDENT", timeout=30)
    assert f"Migrate {heaviest}" in all_text(plan)


async def test_no_channel_picked_is_an_error_in_the_modal(bot: Served) -> None:
    await bot.driver.shortcut(modals.MOVE_VM)
    view = await bot.driver.modal(predicate=has(modals.HOST))
    await bot.driver.pick(view, modals.HOST, "host01")
    view = await bot.driver.modal(predicate=lambda v: "options" in element(v, modals.VM))
    await bot.driver.pick(view, modals.VM, element(view, modals.VM)["options"][0]["value"])
    view = await bot.driver.modal(predicate=has(modals.TARGET))
    answer = await bot.driver.submit(view)
    assert answer.json()["response_action"] == "errors"
    assert modals.CHANNEL in bot.fake.modals.errors[view["id"]]
    assert bot.fake.calls_to("chat.postMessage") == []


async def test_the_gate_refuses_in_the_modal(fake_slack: FakeSlack) -> None:
    """Proposals only from C0OPS: a proposal aimed at another channel is refused in the
    modal; a user outside allowed_users gets no options and no modal."""
    access = SlackAccess(allowed_channels=(CHANNEL,), allowed_users=(USER, "U0BOB"))
    async with demo_runtime(access, changes=True) as runtime, served(fake_slack, runtime) as b:
        top = await top_message(b)
        await b.driver.click(top, MOVE_VM)
        view = await b.driver.modal(predicate=has(modals.VM))
        vm = element(view, modals.VM)["options"][0]["value"]
        await b.driver.pick(view, modals.VM, vm)
        view = await b.driver.modal(predicate=has(modals.TARGET))
        await b.driver.pick(view, modals.CHANNEL, "C0ELSEWHERE")
        answer = await b.driver.submit(view)
        assert answer.json()["response_action"] == "errors"
        assert answer.json()["errors"][modals.CHANNEL]
        assert not any(is_plan(m) for m in fake_slack.messages("C0ELSEWHERE"))

        # a user the gate refuses: no modal from top or the shortcut, no options
        opened = len(fake_slack.calls_to("views.open"))
        await b.driver.click(top, MOVE_VM, user_id="U0NOBODY")
        refusal = await fake_slack.wait_for_response(
            lambda r: r.body.get("response_type") == "ephemeral", timeout=10)
        assert "not" in refusal.body["text"].lower()
        await b.driver.shortcut(modals.MOVE_VM, user_id="U0NOBODY")
        await fake_slack.wait_for_call("chat.postMessage",
                                       lambda c: c.args.get("channel") == "U0NOBODY")
        assert len(fake_slack.calls_to("views.open")) == opened
        await b.driver.shortcut(modals.MOVE_VM, user_id="U0BOB")
        searching = await b.driver.modal("U0BOB", predicate=has(modals.HOST))
        assert await b.driver.suggest(searching, modals.HOST, "host", user_id="U0BOB")
        assert await b.driver.suggest(searching, modals.HOST, "host", user_id="U0NOBODY") == []
        assert await b.driver.suggest(searching, modals.VM, "", user_id="U0NOBODY") == []

        # the same user submitting a crafted modal is refused by the gate too
        answer = await b.driver.submit(view, user_id="U0NOBODY")
        assert answer.json()["response_action"] == "errors"
        await runtime.drain()
        remediation = runtime.remediation
        assert remediation is not None
        assert await remediation.store.requests(host="host01") == []


async def test_power_off_needs_its_own_confirmation_for_hard(bot: Served) -> None:
    top = await top_message(bot)
    await bot.driver.click(top, POWER_OFF)
    view = await bot.driver.modal(predicate=has(modals.MODE))
    assert view["title"]["text"] == "Power off a VM"
    vm = element(view, modals.VM)["options"][-1]["value"]  # the lightest
    await bot.driver.pick(view, modals.VM, vm)
    await bot.driver.pick(view, modals.MODE, "hard")
    answer = await bot.driver.submit(view)
    assert answer.json()["response_action"] == "errors"
    assert modals.HARD_OK in answer.json()["errors"]
    assert not any(is_plan(m) for m in bot.fake.messages(CHANNEL))

    await bot.driver.pick(view, modals.HARD_OK, ["yes"])
    answer = await bot.driver.submit(view)
    assert answer.json()["response_action"] == "update"
    plan = await bot.fake.wait_for_message(is_plan, timeout=30)
    assert f"Power off {vm}" in all_text(plan) and "hard power-off" in all_text(plan)


async def test_an_error_after_the_submission_comes_back_in_the_modal(bot: Served) -> None:
    """A VM that does not run any more (here: a crafted value): the modal says why; nothing
    is posted in the channel."""
    top = await top_message(bot)
    await bot.driver.click(top, POWER_OFF)
    view = await bot.driver.modal(predicate=has(modals.MODE))
    bot.fake.modals.pick(view["id"], modals.VM, {"selected_option": {
        "text": {"type": "plain_text", "text": "gone"}, "value": "no-such-vm"}})
    answer = await bot.driver.submit(view)
    assert answer.json()["response_action"] == "update"
    shown = await bot.driver.modal(predicate=lambda v: "no-such-vm" in all_text(v))
    assert "No running VM" in all_text(shown)
    await bot.runtime.drain()
    assert not any(is_plan(m) for m in bot.fake.messages(CHANNEL))


def test_the_manifest_declares_the_shortcut_and_the_options_url() -> None:
    manifest = yaml.safe_load((ROOT / "slack-manifest.yaml").read_text())
    [shortcut] = manifest["features"]["shortcuts"]
    assert (shortcut["type"], shortcut["callback_id"]) == ("global", modals.MOVE_VM)
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["is_enabled"] and interactivity["message_menu_options_url"]
    assert manifest["features"]["app_home"]["messages_tab_enabled"]


def test_docs_show_each_new_view() -> None:
    text = (ROOT / "docs" / "messages.md").read_text()
    for title in ("modal: Move a VM (picking)", "modal: Move a VM (targets)",
                  "modal: Move a VM (from the shortcut)", "modal: Power off a VM",
                  "modal: Propose a fix"):
        assert f"## {title}" in text
    assert "[ Scan now* ]  [ Post summary ]" in text and "than the previous 7 days" in text
    assert "not rising" not in text
