"""`summary [24h|7d|30d]` over a stored history: the numbers equal the store's, the chart is a
real PNG; the App Home glance; `aio-bot demo summary` writes the chart."""

from __future__ import annotations

import json
import struct
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.assess import Thresholds
from bot.console.output import emit
from bot.history.alerts import process_snapshots
from bot.history.glance import fleet_at_a_glance
from bot.history.summary import SummaryResult
from bot.inventory import Inventory
from bot.store import NewRequest, State, Store
from commands.catalog import build_registry
from commands.context import Context
from commands.registry import CommandUsageError
from tests.test_history_helpers import T0, pct, snap

TH = Thresholds()
NOW = T0 + timedelta(days=7)
# 14 hosts in 2 clusters; final loads (% of the limit) and a few with a reboot pending
FINAL = {f"esx{i:02d}": p for i, p in enumerate(
    [95, 91, 85, 82, 79, 60, 55, 40, 33, 20, 15, 10, 5, 2], start=1)}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def context(store: Store, clock_at: Any = NOW) -> Context:
    return Context(Inventory([]), transport=None,  # type: ignore[arg-type]
                   thresholds=TH, clock=lambda: clock_at,
                   store=store)


async def seed(store: Store) -> None:
    """Hourly scans for 8 days (one before the 7 d window), through the alert logic."""
    for h in range(8 * 24 + 1):
        at = NOW - timedelta(hours=8 * 24 - h)
        x = h / (8 * 24)
        scan = [snap(name, at, pct(max(1.0, p * (0.7 + 0.3 * x))),
                     cluster="gpu-a" if i % 2 else "gpu-b",
                     configured=65536 if name in ("esx03", "esx08") else None)
                for i, (name, p) in enumerate(FINAL.items())]
        await process_snapshots(store, scan, TH, at)
    # a host last seen 10 days ago: stale, not counted now
    await store.add_snapshots([snap("old01", NOW - timedelta(days=10), pct(99))])


async def requests(store: Store) -> dict[str, int]:
    def new(host: str, kind: str = "migrate") -> NewRequest:
        return NewRequest(kind, f"{host}-vm0", host, {}, "U_ALICE",
                          NOW + timedelta(minutes=30), "C_OPS")
    t = NOW - timedelta(days=1)
    ids = {}
    ok = await store.create(new("esx01"), now=t)
    await store.transition(ok.id, State.PROPOSED, State.APPROVED, actor="U_BOB", now=t,
                           approved_by="U_BOB")
    await store.transition(ok.id, State.APPROVED, State.RUNNING, actor="U_BOB", now=t)
    await store.transition(ok.id, State.RUNNING, State.SUCCEEDED, actor="aio-bot", now=t)
    ids["done"] = ok.id
    bad = await store.create(new("esx02", "reboot"), now=t)
    await store.transition(bad.id, State.PROPOSED, State.APPROVED, actor="U_CAROL", now=t)
    await store.transition(bad.id, State.APPROVED, State.FAILED, actor="aio-bot", now=t)
    ids["failed"] = bad.id
    ids["pending"] = (await store.create(new("esx03", "raise-limit"), now=NOW)).id
    no = await store.create(new("esx04"), now=t)
    await store.transition(no.id, State.PROPOSED, State.REJECTED, actor="U_BOB", now=t)
    ids["rejected"] = no.id
    old = await store.create(new("esx05"), now=NOW - timedelta(days=20))
    await store.transition(old.id, State.PROPOSED, State.CANCELLED, actor="U_ALICE",
                           now=NOW - timedelta(days=20))
    ids["old"] = old.id
    return ids


async def test_summary_numbers_equal_the_store(store: Store) -> None:
    await seed(store)
    ids = await requests(store)
    result = await build_registry().run("summary 7d", context(store))
    assert isinstance(result, SummaryResult)
    assert result.period.name == "7d" and result.since == NOW - timedelta(days=7)
    assert not result.scanned_now and result.stale == ["old01"]

    # hosts by risk: recomputed here from the store's latest snapshots
    latest = [s for s in await store.latest_snapshots() if s.at >= result.since]
    expected: dict[str, int] = {"ok": 0, "warning": 0, "critical": 0}
    per_cluster: dict[str, dict[str, int]] = {}
    for s in latest:
        risk = ("critical" if s.percent_used >= 90 else
                "warning" if s.percent_used >= 80 or s.fds_warnings else "ok")
        expected[risk] += 1
        per_cluster.setdefault(s.cluster or "-", {"ok": 0, "warning": 0, "critical": 0})[
            risk] += 1
    assert result.counts == expected == {"critical": 2, "warning": 2, "ok": 10}
    assert {c.cluster: {"ok": c.ok, "warning": c.warning, "critical": c.critical}
            for c in result.clusters} == per_cluster
    assert sum(c.total for c in result.clusters) == len(latest) == 14

    # incidents: exactly the store's
    stored = await store.alerts(result.since, NOW)
    assert [a.id for a in result.incidents] == [a.id for a in stored] and stored
    assert {a.host for a in result.open_incidents} == {"esx01", "esx02", "esx03", "esx04"}

    # remediations and who approved them
    assert [r.id for r in result.done] == [ids["done"]] and result.done[0].approved_by == "U_BOB"
    assert [r.id for r in result.failed] == [ids["failed"]]
    assert result.failed[0].approved_by == "U_CAROL"  # from the audit trail
    assert [r.id for r in result.pending] == [ids["pending"]]
    assert [r.id for r in result.closed] == [ids["rejected"]]
    assert result.closed[0].approved_by == "U_BOB"

    assert [h.host for h in result.reboot_pending] == ["esx03", "esx08"]

    # the chart: 12 riskiest drawn, 2 omitted, a real PNG of sensible size
    history = await store.snapshots(since=result.since, until=NOW)
    assert result.snapshot_count == len(history) == 14 * (7 * 24 + 1)
    assert result.chart.hosts[:2] == ["esx01", "esx02"] and len(result.chart.hosts) == 12
    assert result.chart.omitted == ["esx13", "esx14"]
    width, height = png_size(result.chart.png)
    assert 10_000 < len(result.chart.png) < 1_000_000
    assert 800 <= width <= 2000 and 400 <= height <= 1200

    # both console renderers
    text = emit(result, "table")
    assert "2 critical, 2 warning, 10 ok" in text and "approved by U_BOB" in text
    doc = json.loads(emit(result, "json"))
    assert doc["counts"] == expected and doc["chart"]["omitted"] == ["esx13", "esx14"]
    assert doc["remediations"]["done"][0]["approved_by"] == "U_BOB"


async def test_summary_default_period_and_bad_words(store: Store) -> None:
    await store.add_snapshots([snap("esx01", NOW - timedelta(hours=1), pct(50))])
    result = await build_registry().run("summary", context(store))
    assert isinstance(result, SummaryResult) and result.period.name == "24h"
    assert result.counts == {"ok": 1, "warning": 0, "critical": 0}
    assert png_size(result.chart.png)[0] > 0
    with pytest.raises(CommandUsageError, match="24h, 7d, 30d"):
        await build_registry().run("summary 2w", context(store))
    with pytest.raises(CommandUsageError):
        await build_registry().run("summary 7d extra", context(store))


async def test_fleet_at_a_glance(store: Store) -> None:
    await seed(store)
    ids = await requests(store)
    expired = await store.create(
        NewRequest("migrate", "x", "esx09", {}, "U_ALICE", NOW - timedelta(minutes=1)),
        now=NOW - timedelta(hours=1))
    glance = await fleet_at_a_glance(store, NOW)
    assert glance.as_of == NOW
    assert glance.counts == {"critical": 2, "warning": 2, "ok": 10}
    assert glance.stale == ["old01"]  # last seen 10 days ago: not counted
    assert [a.id for a in glance.open_incidents] == [a.id for a in await store.active_alerts()]
    assert [r.id for r in glance.pending_approvals] == [ids["pending"]]
    assert expired.id not in [r.id for r in glance.pending_approvals]
    assert [h.host for h in glance.reboot_pending] == ["esx03", "esx08"]


async def test_demo_summary_scans_seeds_and_writes_the_chart(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    from bot import cli_actions

    out = tmp_path / "chart.png"
    assert await cli_actions.demo_summary(["24h"], "table", out) == 0
    printed = capsys.readouterr().out
    assert "SIMULATED" in printed and str(out) in printed
    assert "1 critical" in printed and "host03 (65,536 configured" in printed
    width, height = png_size(out.read_bytes())
    assert 10_000 < out.stat().st_size < 1_000_000 and width > height


async def test_summary_scans_when_the_store_is_empty() -> None:
    from bot.demo import DemoFleet

    async with DemoFleet() as fleet:
        assert fleet.store is not None
        result = await build_registry().run("summary", fleet.context())
        assert isinstance(result, SummaryResult) and result.scanned_now
        assert len(result.hosts) == 8 and result.counts["critical"] == 1
        assert len(await fleet.store.latest_snapshots()) == 8
