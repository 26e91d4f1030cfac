"""Snapshots and alert records in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from bot.history.snapshot import retention_cutoff, snapshot_of
from bot.store import Store
from bot.store.migrations import LATEST
from tests.test_history_helpers import T0, report, snap


async def test_snapshot_round_trip_and_queries(store: Store) -> None:
    assert LATEST >= 3
    r = report("host01", 31000, T0, fds=12, fds_last=T0 - timedelta(minutes=3))
    s = snapshot_of(r)
    assert (s.in_use, s.runtime_limit, s.fds_warnings) == (31000, 32768, 12)
    assert s.top_vms[0] == ("host01-vm0", 12400) and len(s.top_vms) <= 5
    later = [snap("host01", T0 + timedelta(hours=h), 30000 + h) for h in (1, 2)]
    other = snap("host02", T0 + timedelta(hours=1), 5000, configured=65536, cluster=None)
    assert await store.add_snapshots([s, *later, other]) == 4
    assert await store.add_snapshots([s]) == 0  # same host, same instant: kept once
    got = await store.snapshots()
    assert got[0] == s and len(got) == 4
    assert [x.at for x in await store.snapshots("host01")] == [
        T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)]
    window = await store.snapshots(since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=1))
    assert sorted(x.host for x in window) == ["host01", "host02"]
    latest = await store.latest_snapshots()
    assert [(x.host, x.in_use) for x in latest] == [("host01", 30002), ("host02", 5000)]
    assert latest[1].reboot_pending and latest[1].cluster is None
    before = await store.latest_snapshots(before=T0 + timedelta(hours=1))
    assert [(x.host, x.at) for x in before] == [("host01", T0)]


async def test_prune_keeps_the_retention_window(store: Store) -> None:
    snaps = [snap("h", T0 + timedelta(days=d), 1000) for d in range(10)]
    await store.add_snapshots(snaps)
    now = T0 + timedelta(days=9)
    cutoff = retention_cutoff(now, timedelta(days=3))
    assert await store.prune_snapshots(cutoff) == 6
    assert [x.at for x in await store.snapshots()] == [T0 + timedelta(days=d) for d in (6, 7, 8, 9)]
    assert await store.prune_snapshots(cutoff) == 0


async def test_one_active_alert_per_host(store: Store) -> None:
    opened = await store.open_alert("h1", "warning", {"percent": 81.0}, now=T0)
    assert opened is not None and opened.active and opened.peak_level == "warning"
    assert await store.open_alert("h1", "critical", {}, now=T0) is None
    assert (await store.active_alert("h1")) == opened
    up = await store.update_alert(opened.id, "critical", {"percent": 93.0},
                                  now=T0 + timedelta(minutes=5))
    assert up is not None and up.peak_level == "critical" and up.version == 2
    down = await store.update_alert(opened.id, "warning", {"percent": 85.0},
                                    now=T0 + timedelta(minutes=10))
    assert down is not None and down.level == "warning" and down.peak_level == "critical"
    await store.set_alert_message(opened.id, "C_INC", "1700000000.000100")
    done = await store.resolve_alert(opened.id, {"percent": 40.0}, now=T0 + timedelta(hours=1))
    assert done is not None and done.resolved_at == T0 + timedelta(hours=1)
    assert (done.channel, done.message_ts) == ("C_INC", "1700000000.000100")
    assert await store.resolve_alert(opened.id, {}, now=T0 + timedelta(hours=2)) is None
    assert await store.update_alert(opened.id, "warning", {}, now=T0) is None
    assert await store.active_alert("h1") is None
    again = await store.open_alert("h1", "warning", {}, now=T0 + timedelta(hours=3))
    assert again is not None and again.id != opened.id
    # overlap queries
    assert [a.id for a in await store.alerts(T0 + timedelta(hours=2))] == [again.id]
    assert [a.id for a in await store.alerts(T0, T0 + timedelta(hours=2))] == [opened.id]
    assert [a.id for a in await store.active_alerts()] == [again.id]
