"""/metrics (prometheus-client) and the probes, scraped over HTTP from the bot's own routes:
per-host gauges after a background scan of the demo fleet (and the same figures from another
replica that only shares the store), after an on-demand `scan`, the dashboard's and alert
rules' metric names all exported, the bearer token on the Slack port; /readyz 503 naming the
check when the store is unreachable (SQLite closed; a real PostgreSQL stopped) or Socket Mode
disconnects; /healthz 503 when the scheduler died."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.esx.report import HostReport
from bot.health import Health
from bot.slack.runtime import Runtime
from bot.slack.web.server import metrics_app, start_site, web_app
from bot.store import open_store
from tests import fakeslack
from tests.fakeslack import FakeSlack
from tests.needs import require
from tests.pg_helpers import PgServer, pg_bin_dir
from tests.slack_helpers import APP_TOKEN, app_for, demo_runtime, served
from tests.test_slack_alerts import history_bot

fake_slack = fakeslack.fake_slack
ROOT = Path(__file__).resolve().parent.parent
TOKEN = "metrics-token-0123456789abcdef"
NAME = re.compile(r"\b((?:aio_bot|process|python)_[a-z0-9_]+)")


@asynccontextmanager
async def metrics_site(runtime: Runtime, token: str | None = None) -> AsyncIterator[str]:
    runner = await start_site(metrics_app(runtime, token), "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def get(url: str, **headers: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as r:
        return r.status, await r.text()


def samples(text: str, name: str) -> dict[tuple[str, str], float]:
    return {(s.labels["host"], s.labels["cluster"]): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == name}


def exported_names(text: str) -> set[str]:
    """Every series name /metrics declares (a labelled counter has no sample until its first
    increment, but its `# TYPE` line is there)."""
    names = {s.name for family in text_string_to_metric_families(text) for s in family.samples}
    for name, kind in re.findall(r"(?m)^# TYPE (\S+) (\w+)$", text):
        names.add(name)
        if kind == "histogram":
            names |= {name + "_bucket", name + "_sum", name + "_count"}
    return names


async def test_per_host_gauges_after_a_background_scan_on_every_replica(
        fake_slack: FakeSlack) -> None:
    async with history_bot(fake_slack) as bot:
        decisions_at = datetime.now(UTC).replace(microsecond=0)
        await bot.jobs.scan(decisions_at)
        reports = {r.host: r for r in await _read_fleet(bot.runtime)}
        async with metrics_site(bot.runtime) as url:
            status, text = await get(url + "/metrics")
        assert status == 200
        in_use = samples(text, "aio_bot_host_handles_in_use")
        assert len(in_use) == len(bot.runtime.inventory) == 8
        assert in_use[("host01", "gpu-cluster-a")] == reports["host01"].in_use
        for (host, cluster), value in in_use.items():
            assert value == reports[host].in_use and cluster == reports[host].cluster
        percent = samples(text, "aio_bot_host_handles_used_percent")
        assert percent[("host01", "gpu-cluster-a")] == pytest.approx(
            100 * reports["host01"].in_use / reports["host01"].limit.runtime, abs=0.01)
        assert set(samples(text, "aio_bot_host_scan_duration_seconds")) == set(in_use)
        assert set(samples(text, "aio_bot_host_fix_available")) == set(in_use)

        other = Runtime(bot.runtime.services)  # another replica: shares the store, read nothing
        async with metrics_site(other) as url:
            _, seen = await get(url + "/metrics")
        assert samples(seen, "aio_bot_host_handles_in_use") == in_use
        assert samples(seen, "aio_bot_host_reboot_pending") == samples(
            text, "aio_bot_host_reboot_pending")
        assert samples(seen, "aio_bot_host_fix_available") == {}  # not in a snapshot
        assert max(samples(seen, "aio_bot_host_seconds_since_last_read").values()) < 600


async def _read_fleet(runtime: Runtime) -> list[HostReport]:
    """The fleet as `scan` reads it (the demo fleet does not change between two reads)."""
    from bot.esx.collect import scan_hosts

    outcomes = await scan_hosts(runtime.transport, list(runtime.inventory))
    return [o for o in outcomes if isinstance(o, HostReport)]


async def test_an_on_demand_scan_updates_the_gauges(fake_slack: FakeSlack) -> None:
    async with demo_runtime() as runtime, served(fake_slack, runtime) as s:
        await s.driver.slash("/aio", "scan")
        await fake_slack.wait_for_call(
            "chat.update", lambda c: "Scan of all" in c.args["text"], timeout=20)
        await runtime.drain()
        reports = {r.host: r for r in await _read_fleet(runtime)}
        async with metrics_site(runtime) as url:
            _, text = await get(url + "/metrics")
    in_use = samples(text, "aio_bot_host_handles_in_use")
    assert {h: v for (h, _), v in in_use.items()} == {h: r.in_use for h, r in reports.items()}
    assert 'aio_bot_commands_total{command="scan",outcome="ok"} 1.0' in text


async def test_dashboard_and_rules_use_only_exported_names(fake_slack: FakeSlack) -> None:
    async with history_bot(fake_slack) as bot:
        await bot.jobs.scan(datetime.now(UTC).replace(microsecond=0))
        async with metrics_site(bot.runtime) as url:
            _, text = await get(url + "/metrics")
    exported = exported_names(text)
    dashboard = json.loads((ROOT / "docs/grafana/aio-bot.json").read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    queries += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    used = {n for q in queries for n in NAME.findall(q)}
    assert used and used <= exported, used - exported
    rules = (ROOT / "docs/prometheus/aio-bot-rules.yml").read_text()
    used_in_rules = set(NAME.findall(rules))
    assert used_in_rules and used_in_rules <= exported, used_in_rules - exported


async def test_metrics_on_the_slack_port_only_with_the_bearer_token(
        fake_slack: FakeSlack) -> None:
    async with demo_runtime() as runtime:
        runner = await start_site(web_app(runtime, app_for(fake_slack, runtime),
                                          metrics_token=TOKEN), "127.0.0.1", 0)
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            assert (await get(base + "/metrics"))[0] == 401
            assert (await get(base + "/metrics", Authorization="Bearer nope"))[0] == 401
            status, text = await get(base + "/metrics", Authorization=f"Bearer {TOKEN}")
            assert status == 200 and "aio_bot_build_info" in text
        finally:
            await runner.cleanup()
        async with metrics_site(runtime, TOKEN) as url:  # the own port asks for it too
            assert (await get(url + "/metrics"))[0] == 401


async def readyz(url: str) -> tuple[int, dict[str, Any]]:
    status, text = await get(url + "/readyz")
    return status, json.loads(text)


async def test_readyz_fails_on_a_closed_sqlite_store(fake_slack: FakeSlack) -> None:
    async with history_bot(fake_slack) as bot, metrics_site(bot.runtime) as url:
        status, body = await readyz(url)
        assert status == 200 and body["checks"]["store"] == "ok", body
        assert body["checks"]["vcenter"] == "ok"
        store = bot.runtime.history_store
        assert store is not None
        await store.close()
        status, body = await readyz(url)
        assert status == 503 and body["failing"] == ["store"], body
        assert "closed" in body["checks"]["store"]


async def test_readyz_fails_when_postgresql_stops() -> None:
    bin_dir = pg_bin_dir()
    require(None if bin_dir else
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl)")
    assert bin_dir is not None
    server = PgServer.start(bin_dir)
    store = None
    try:
        url = server.fresh_database()
        store = open_store(url)
        await store.migrate()
        health = Health(store=store)
        assert all(c.ok for c in await health.ready())
        server.stop()
        [check] = await health.ready()
        assert (check.name, check.ok) == ("store", False)
        assert "postgres" in check.detail.lower() and server_password_hidden(check.detail)
    finally:
        if store is not None:
            await store.close()
        server.stop()


def server_password_hidden(detail: str) -> bool:
    from tests.pg_helpers import PASSWORD

    return PASSWORD not in detail


async def test_readyz_fails_when_socket_mode_disconnects(fake_slack: FakeSlack) -> None:
    async with demo_runtime() as runtime:
        handler = AsyncSocketModeHandler(app_for(fake_slack, runtime), APP_TOKEN)
        runtime.health.socket_connected = handler.client.is_connected
        async with metrics_site(runtime) as url:
            status, body = await readyz(url)
            assert status == 503 and body["checks"]["socket_mode"] == "disconnected"
            await handler.connect_async()
            try:
                await fake_slack.socket_connected()
                status, body = await readyz(url)
                assert status == 200 and body["checks"]["socket_mode"] == "connected", body
                fake_slack.fail("apps.connections.open", error="invalid_auth", times=1000)
                await fake_slack.socket.close_all()
                for _ in range(100):
                    status, body = await readyz(url)
                    if status == 503:
                        break
                    await asyncio.sleep(0.1)
                assert status == 503 and body["failing"] == ["socket_mode"], body
            finally:
                await handler.close_async()


async def test_readyz_fleet_scan_age_and_healthz_scheduler() -> None:
    async with demo_runtime(changes=True) as runtime:
        store = runtime.history_store
        assert store is not None
        health = runtime.health
        health.scan_interval = timedelta(minutes=5)
        checks = {c.name: c for c in await health.ready()}
        assert checks["fleet_scan"].ok and "waiting" in checks["fleet_scan"].detail
        health.started -= 3600  # up for an hour, and still no scan in the store
        checks = {c.name: c for c in await health.ready()}
        assert not checks["fleet_scan"].ok and "no scan" in checks["fleet_scan"].detail

        async def crash() -> None:
            raise RuntimeError("boom")

        task = asyncio.get_running_loop().create_task(crash())
        await asyncio.wait({task})
        health.scheduler_alive = lambda: not task.done()
        async with metrics_site(runtime) as url:
            status, text = await get(url + "/healthz")
        assert status == 503 and json.loads(text)["failing"] == ["scheduler"]
        task.exception()
