"""Faults on the demo fleet behind real SSH: hosts that die mid-scan, hang, answer garbage or
change their host key; vCenter slow, failing or down; Slack answering 429 and 500. The bot keeps
answering other commands, says what failed in one sentence, and leaves no thread, connection
or file handle behind."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
import pytest_asyncio

from bot.demo import DemoFleet
from bot.errors import AioBotError, CommandTimeout, HostKeyChanged, ParseError, VCenterError
from bot.esx.ssh import SshSettings, SshTransport
from bot.remediation.executors.base import Executors
from bot.remediation.narrator import SayNarrator
from bot.sim.files import write_atomic
from bot.sim.sshd import SimSshServer
from bot.store.api import State
from bot.vsphere.client import PyVmomiVCenter
from bot.vsphere.settings import VCenterSettings
from commands.catalog import build_registry
from commands.context import Context
from commands.results import OutcomeResult, PlanResult, ScanResult, TopResult
from tests import fakeslack
from tests.fakeslack import FakeSlack
from tests.fault_helpers import Usage, assert_only_fixed_lines, usage
from tests.slack_helpers import all_text, demo_runtime, served

REGISTRY = build_registry()
fake_slack = fakeslack.fake_slack
GARBAGE_ESXCLI = ("#!/bin/sh\necho 'Segmentation fault <<>> \x01\x02'\n"
                  "head -c 200 /dev/zero | tr '\\0' '~'\n")


def one_sentence(text: str) -> bool:
    return bool(text) and "\n" not in text and len(text) < 400 and "Traceback" not in text


async def settled(before: Usage, connections: int = 0, timeout: float = 10.0) -> Usage:
    """Usage once the threads that are closing have ended (paramiko's end within a second)."""
    deadline = time.monotonic() + timeout
    while True:
        now = usage(connections)
        if (len(now.threads) <= len(before.threads) and now.fds <= before.fds) or \
                time.monotonic() > deadline:
            return now
        await asyncio.sleep(0.1)


@pytest_asyncio.fixture
async def leak_check() -> AsyncIterator[None]:
    """Nothing a test started outlives it: threads, file descriptors (counted inside the
    test's event loop, so the loop's own descriptors are on both sides)."""
    before = usage(0)
    yield
    after = await settled(before)
    assert set(after.threads) <= set(before.threads), (before.threads, after.threads)
    assert after.fds <= before.fds, (before.describe(), after.describe())


@pytest_asyncio.fixture
async def demo(leak_check: None) -> AsyncIterator[DemoFleet]:
    async with DemoFleet() as fleet:
        yield fleet
        assert_only_fixed_lines(fleet.fleet)
        assert fleet.transport is not None


def ctx(demo: DemoFleet, user: str = "@you", **kw: Any) -> Context:
    """A context on the demo fleet; `kw` replaces any of its parts (vcenter, remediation)."""
    return replace(demo.context(caller=user), **kw)


async def wait_until(probe: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_a_host_that_dies_mid_scan_is_one_failure_and_comes_back(demo: DemoFleet) -> None:
    victim = demo.fleet.servers["host03"]
    victim.hang_commands = True  # so it is surely mid-command when it dies
    scan = asyncio.create_task(REGISTRY.run("scan all", ctx(demo)))
    await wait_until(lambda: len(victim.received) >= 1)
    top = await REGISTRY.run("top host01 limit=3", ctx(demo))  # others still answer meanwhile
    assert isinstance(top, TopResult)
    victim.down = True
    victim.drop_connections()
    result = await asyncio.wait_for(scan, 60)
    assert isinstance(result, ScanResult)
    assert [f.host for f in result.failures] == ["host03"]
    assert one_sentence(result.failures[0].error) and "host03" in result.failures[0].error
    assert len(result.rows) == len(demo.inventory) - 1
    victim.down, victim.hang_commands = False, False
    again = await REGISTRY.run("top host03", ctx(demo))
    assert isinstance(again, TopResult)


async def test_a_hanging_host_times_out_and_the_others_answer(demo: DemoFleet) -> None:
    settings = SshSettings(known_hosts=demo.fleet.known_hosts_path, password=demo.password,
                           command_timeout=1.0)
    transport = SshTransport(settings)
    try:
        demo.fleet.servers["host02"].hang_commands = True
        quick = Context(demo.inventory, transport, caller="@you")
        started = time.monotonic()
        hung, fine = await asyncio.gather(
            REGISTRY.run("top host02", quick), REGISTRY.run("top host01", quick),
            return_exceptions=True)
        assert isinstance(fine, TopResult)
        assert isinstance(hung, CommandTimeout) and one_sentence(str(hung))
        assert "host02 did not finish" in str(hung) and time.monotonic() - started < 10
        assert transport.stats()["connections_open"] == 1  # the hung one was dropped
        demo.fleet.servers["host02"].hang_commands = False
        assert isinstance(await REGISTRY.run("top host02", quick), TopResult)
    finally:
        await transport.close()
    assert transport.stats()["connections_open"] == 0


async def test_a_host_that_answers_garbage_is_a_parse_error(demo: DemoFleet) -> None:
    esxcli = demo.host_dirs["host04"] / "bin" / "esxcli"
    write_atomic(esxcli, GARBAGE_ESXCLI, 0o755)
    with pytest.raises(ParseError) as caught:
        await REGISTRY.run("top host04", ctx(demo))
    assert one_sentence(str(caught.value)) and "line 1" in str(caught.value)
    result = await REGISTRY.run("scan gpu-cluster-a", ctx(demo))
    assert isinstance(result, ScanResult)
    failed = {f.host: f.error for f in result.failures}
    assert set(failed) == {"host04"} and one_sentence(failed["host04"])
    assert isinstance(await REGISTRY.run("top host01", ctx(demo)), TopResult)


async def test_a_changed_host_key_is_refused(demo: DemoFleet) -> None:
    assert isinstance(await REGISTRY.run("top host05", ctx(demo)), TopResult)  # connected
    old = demo.fleet.servers["host05"]
    old.stop()
    impostor = SimSshServer("host05", demo.host_dirs["host05"], password=demo.password,
                            port=old.port)
    impostor.start()
    try:
        with pytest.raises(HostKeyChanged) as caught:
            await REGISTRY.run("top host05", ctx(demo))
        assert one_sentence(str(caught.value)) and "different SSH host key" in str(caught.value)
        assert impostor.received == []  # not one command line reached the impostor
        assert isinstance(await REGISTRY.run("top host01", ctx(demo)), TopResult)
    finally:
        impostor.stop()


async def test_a_failing_vmotion_ends_failed_and_is_said(demo: DemoFleet) -> None:
    assert demo.vcenter is not None
    plan = await REGISTRY.run("migrate vdi-eng-016", ctx(demo))
    assert isinstance(plan, PlanResult)
    demo.vcenter.fail_next_relocate = "The target host is in maintenance mode."
    said: list[str] = []

    async def say(text: str) -> None:
        said.append(text)

    alice = ctx(demo, "@alice", narrator=SayNarrator(say))
    outcome = await REGISTRY.run(f"approve {plan.request.id}", alice)
    assert isinstance(outcome, OutcomeResult) and not outcome.outcome.ok
    assert outcome.outcome.request.state is State.FAILED
    assert one_sentence(outcome.outcome.summary.split(". ")[0])
    assert any("maintenance mode" in s for s in [*said, outcome.outcome.summary])
    assert isinstance(await REGISTRY.run("top host01", ctx(demo)), TopResult)


async def test_a_slow_vcenter_times_out_while_the_bot_keeps_answering(demo: DemoFleet) -> None:
    assert demo.vcenter is not None and demo.remediation is not None
    executors = Executors(demo.transport, demo.vcenter, demo.inventory,  # type: ignore[arg-type]
                          poll_interval=0.2, reboot_timeout=10.0, task_timeout=1.0)
    remediation = replace(demo.remediation, executors=executors)
    plan = await REGISTRY.run("migrate vdi-eng-016", ctx(demo, remediation=remediation))
    assert isinstance(plan, PlanResult)
    demo.vcenter.slow = 3.0
    approving = asyncio.create_task(REGISTRY.run(
        f"approve {plan.request.id}", ctx(demo, "@alice", remediation=remediation)))
    started = time.monotonic()
    assert isinstance(await REGISTRY.run("top host01", ctx(demo)), TopResult)
    assert time.monotonic() - started < 5 and not approving.done()
    outcome = await asyncio.wait_for(approving, 30)
    assert isinstance(outcome, OutcomeResult) and not outcome.outcome.ok
    assert outcome.outcome.request.state is State.FAILED
    demo.vcenter.slow = 0.0
    inventory = await demo.vcenter.inventory()
    [vm] = [v for v in inventory.vms if v.name == "vdi-eng-016"]
    assert vm.host == "host01"  # past the deadline nothing changed


async def test_vcenter_down_is_one_sentence(demo: DemoFleet) -> None:
    down = PyVmomiVCenter(VCenterSettings(host="127.0.0.1", port=1, user="aio",
                                          password="not-used-here", connect_timeout=2))
    with pytest.raises(VCenterError) as caught:
        await REGISTRY.run("migrate vdi-eng-016", ctx(demo, vcenter=down))
    assert one_sentence(str(caught.value)) and isinstance(caught.value, AioBotError)
    assert isinstance(await REGISTRY.run("top host01", ctx(demo)), TopResult)


async def test_slack_answering_429_and_500(fake_slack: FakeSlack, leak_check: None) -> None:
    fake = fake_slack
    async with demo_runtime() as runtime, served(fake, runtime) as bot:
        fake.fail("chat.postMessage", status=429, retry_after=1)
        await bot.driver.slash("/aio", "top host01 limit=2")
        await fake.wait_for_call("chat.postMessage", lambda c: c.status == 200, timeout=20)
        assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]

        fake.fail("chat.postMessage", status=500, times=10)
        ack = await bot.driver.slash("/aio", "top host02 limit=2")
        assert ack.status == 200
        told = await fake.wait_for_response(lambda r: "top" in r.body.get("text", ""), timeout=20)
        assert one_sentence(told.body["text"]), told.body
        fake._failures.clear()  # Slack is back
        await bot.driver.slash("/aio", "help")
        await fake.wait_for_response(lambda r: "help" in all_text(r.body).lower(), timeout=10)
        await bot.driver.slash("/aio", "top host03 limit=2")
        await fake.wait_for_call("chat.postMessage",
                                 lambda c: c.status == 200 and "host03" in str(c.args), 20)


async def test_commands_work_past_1024_open_descriptors(demo: DemoFleet) -> None:
    """A bot holding a connection to each of 1,000 hosts has descriptors past 1023, where
    select.select() fails (found by bench/load.py: the whole scan failed)."""
    pipes = [os.pipe() for _ in range(520)]
    try:
        assert max(max(p) for p in pipes) > 1024
        await demo.transport.close()  # type: ignore[union-attr]  # reconnect: a high socket fd
        result = await REGISTRY.run("top host01 limit=2", ctx(demo))
        assert isinstance(result, TopResult)
    finally:
        for r, w in pipes:
            os.close(r)
            os.close(w)
