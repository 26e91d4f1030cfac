"""Two `aio-bot serve` processes sharing one store (SQLite file, or a real PostgreSQL) and
one demo fleet: a request clicked twice, delivered twice, and approved by two approvers at
once, across both processes, runs once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from bot.demo import DemoFleet
from bot.sim.fleet_process import write_manifest
from bot.slack.views.plan import APPROVE
from bot.store import open_store
from tests import fakeslack
from tests.fakeslack import FakeSlack, SlackDriver
from tests.fakeslack.driver import block_actions_payload
from tests.slack_helpers import BOT_TOKEN, SECRET, all_text, assert_every_message_valid

fake_slack = fakeslack.fake_slack
ROOT = Path(__file__).resolve().parent.parent


@asynccontextmanager
async def replica(fake: FakeSlack, env: dict[str, str]) -> AsyncIterator[SlackDriver]:
    """`python -m bot serve --demo` on the shared fleet and store; a driver signed for it
    (its `.proc` is the process)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--demo", "--host", "127.0.0.1", "--port", "0",
        "--metrics-port", "off", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert line.startswith("aio-bot: serving"), line
        async with SlackDriver(line.split()[-1], SECRET, fake) as driver:
            driver.proc = proc  # type: ignore[attr-defined]
            yield driver
    finally:
        if proc.returncode is None:
            proc.terminate()
        _, stderr = await asyncio.wait_for(proc.communicate(), 20)
        driver_log = stderr.decode()
        proc.stderr_text = driver_log  # type: ignore[attr-defined]
        if proc.returncode != -signal.SIGKILL:
            assert "Traceback" not in driver_log, driver_log[-2000:]


METRICS_TOKEN = "metrics-token-0123456789abcdef"


def shared_env(fake: FakeSlack, manifest: Path, db_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "SLACK_API_URL": fake.api_url, "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET, "AIO_DEMO_FLEET": str(manifest),
            "AIO_BOT_DB": db_url, "AIO_BOT_APPROVERS": "U0ALICE,U0BOB",
            "AIO_METRICS_TOKEN": METRICS_TOKEN, **extra}


async def test_one_execution_across_two_replicas(
    fake_slack: FakeSlack, db_url: str, tmp_path: Path
) -> None:
    async with DemoFleet() as demo, AsyncExitStack() as stack:
        manifest = tmp_path / "fleet.json"
        write_manifest(demo, manifest)
        env = shared_env(fake_slack, manifest, db_url)
        one, two = await asyncio.gather(stack.enter_async_context(replica(fake_slack, env)),
                                        stack.enter_async_context(replica(fake_slack, env)))
        await one.slash("/aio", "migrate vdi-eng-016")
        plan = await fake_slack.wait_for_message(
            lambda m: "only approvers can approve" in all_text(m), timeout=30)
        payload = block_actions_payload(fake_slack, plan, APPROVE, user_id="U0ALICE")
        clicks: list[Any] = [
            one.click(plan, APPROVE, user_id="U0ALICE"),
            two.click(plan, APPROVE, user_id="U0BOB"),
            one.click(plan, APPROVE, user_id="U0BOB"),
            one.post_payload(payload),  # the same delivery, twice, to both replicas
            two.post_payload(payload),
        ]
        assert all(r.status == 200 for r in await asyncio.gather(*clicks))
        await fake_slack.wait_for_message(
            lambda m: m.get("ts") == plan["ts"] and "Done" in all_text(m), timeout=60)
        await fake_slack.wait_for_message(
            lambda m: m.get("thread_ts") == plan["ts"] and m["text"].startswith("Done:"),
            timeout=30)

    store = open_store(db_url)
    try:
        [request] = await store.requests()
        events = [e.event for e in await store.audit_trail(request_id=request.id)]
    finally:
        await store.close()
    assert request.state.value == "succeeded"
    assert events.count("approved") == 1 and events.count("step-started") == 1
    assert events.count("step-succeeded") == 1
    assert_every_message_valid(fake_slack)


async def test_a_replica_killed_mid_execution_leaves_a_definite_reported_state(
    fake_slack: FakeSlack, db_url: str, tmp_path: Path
) -> None:
    async with DemoFleet() as demo, AsyncExitStack() as stack:
        manifest = tmp_path / "fleet.json"
        write_manifest(demo, manifest)
        env = shared_env(fake_slack, manifest, db_url, AIO_BOT_LEASE_SECONDS="2",
                         AIO_BOT_SWEEP_SECONDS="0.5")
        one, _two = await asyncio.gather(stack.enter_async_context(replica(fake_slack, env)),
                                        stack.enter_async_context(replica(fake_slack, env)))
        await one.slash("/aio", "fix host03")  # evacuate, then reboot: several steps
        plan = await fake_slack.wait_for_message(
            lambda m: "only approvers can approve" in all_text(m), timeout=30)
        await one.click(plan, APPROVE, user_id="U0ALICE")
        await fake_slack.wait_for_message(
            lambda m: m.get("thread_ts") == plan["ts"] and m["text"].startswith("Migrating"),
            timeout=30)
        one.proc.kill()  # type: ignore[attr-defined]
        await fake_slack.wait_for_message(
            lambda m: m.get("ts") == plan["ts"] and "Interrupted" in all_text(m), timeout=30)
        note = await fake_slack.wait_for_message(
            lambda m: m.get("thread_ts") == plan["ts"] and "Interrupted" in m["text"],
            timeout=10)
        assert "check host03" in note["text"]

    store = open_store(db_url)
    try:
        [request] = await store.requests()
        events = [e.event for e in await store.audit_trail(request_id=request.id)]
    finally:
        await store.close()
    assert request.state.value == "interrupted" and "Interrupted" in (request.outcome or "")
    assert events[-1] == "interrupted"


async def _duplicates(driver: SlackDriver) -> int:
    """aio_bot_duplicate_deliveries_total from the replica's /metrics (on the Slack port,
    with the bearer token)."""
    url = driver.base_url.replace("/slack/events", "/metrics")
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    async with (aiohttp.ClientSession() as session,
                session.get(url, headers=headers) as response):
        text = await response.text()
    return int(float(next(line.split()[-1] for line in text.splitlines()
                          if line.startswith("aio_bot_duplicate_deliveries_total"))))


async def test_a_delivery_retried_to_the_other_replica_is_answered_once(
    fake_slack: FakeSlack, db_url: str, tmp_path: Path
) -> None:
    """Slack retries an event when the first answer was late; behind a load balancer the
    retry reaches the other replica, which must not answer it again."""
    async with DemoFleet() as demo, AsyncExitStack() as stack:
        manifest = tmp_path / "fleet.json"
        write_manifest(demo, manifest)
        env = shared_env(fake_slack, manifest, db_url)
        one, two = await asyncio.gather(stack.enter_async_context(replica(fake_slack, env)),
                                        stack.enter_async_context(replica(fake_slack, env)))
        event = {"type": "app_mention", "user": "U0ALICE", "text": "<@U0BOT> check host02",
                 "channel": "C0OPS", "ts": "1700000000.000300", "event_ts": "1700000000.000300"}
        sent = await asyncio.gather(
            one.event(event, event_id="Ev0TWICE"),
            two.event(event, event_id="Ev0TWICE", retry_num=1, retry_reason="http_timeout"))
        assert all(r.status == 200 for r in sent)
        await fake_slack.wait_for_message(
            lambda m: m.get("thread_ts") == event["ts"] and "host02" in all_text(m), timeout=30)
        for _ in range(100):
            if await _duplicates(one) + await _duplicates(two) == 1:
                break
            await asyncio.sleep(0.1)
        assert await _duplicates(one) + await _duplicates(two) == 1
        answers = [m for m in fake_slack.messages("C0OPS") if m.get("thread_ts") == event["ts"]]
        assert len(answers) == 1
