"""Alert incidents over a sequence of synthetic scans: one open, updates only on material
change, resolve when it clears; the incident survives a store reopen."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.assess import Risk, Thresholds
from bot.esx.collect import HostFailure, ScanOutcome
from bot.esx.records import HostdEvent
from bot.history.alerts import AlertDecision, AlertPolicy, evaluate, process_scan
from bot.store import Store, open_store
from tests.test_history_helpers import T0, pct, report, snap

TH = Thresholds()
STEP = timedelta(minutes=5)


def at(i: int):
    return T0 + STEP * i


async def scan(store: Store, i: int, *outcomes: ScanOutcome) -> list[AlertDecision]:
    return await process_scan(store, list(outcomes), TH, at(i))


def kinds(decisions: list[AlertDecision]) -> list[tuple[str, str]]:
    return [(d.kind, d.host) for d in decisions]


async def test_incident_lifecycle_across_a_store_reopen(db_url: str) -> None:
    store = open_store(db_url)
    await store.migrate()
    try:
        quiet = [report("h1", pct(50), at(0)), report("h2", pct(30), at(0))]
        assert await scan(store, 0, *quiet) == []
        # over the warning threshold: exactly one `open`
        [d] = await scan(store, 1, report("h1", pct(85), at(1)), report("h2", pct(30), at(1)))
        assert (d.kind, d.host, d.level) == ("open", "h1", Risk.WARNING)
        assert d.alert.active and d.alert.level == "warning"
        assert "h1 is WARNING" in d.summary and "85.0%" in d.summary
        assert d.forecast is not None and d.forecast.kind == "too_short"
        alert_id = d.alert.id
        await store.set_alert_message(alert_id, "C_INC", "111.222")
        # moved less than 2 points since the message: nothing
        assert await scan(store, 2, report("h1", pct(86), at(2))) == []
        # a failed scan of the host changes nothing
        assert await scan(store, 3, HostFailure("h1", "c1", "timed out")) == []
        # 3 points above what the message shows: update, in place
        [d] = await scan(store, 4, report("h1", pct(88), at(4)))
        assert (d.kind, d.alert.id) == ("update", alert_id)
        assert d.changes == ("load 85.0% → 88.0%",)
        assert (d.alert.channel, d.alert.message_ts) == ("C_INC", "111.222")
        assert d.forecast is not None and d.forecast.kind == "rising"
        assert "Forecast: rising" in d.summary
    finally:
        await store.close()

    store = open_store(db_url)  # a restarted bot continues the same incident
    await store.migrate()
    try:
        active = await store.active_alert("h1")
        assert active is not None and active.id == alert_id
        [d] = await scan(store, 5, report("h1", pct(92), at(5)))
        assert (d.kind, d.level, d.alert.id) == ("update", Risk.CRITICAL, alert_id)
        assert "level warning → critical" in d.changes
        assert await scan(store, 6, report("h1", pct(92.5), at(6))) == []
        # new FDS warnings are material even when the load hardly moved
        [d] = await scan(store, 7, report("h1", pct(92.6), at(7), fds=5))
        assert d.kind == "update" and d.changes == ("new FDS warnings",)
        assert "FDS 'No free handles' warnings" in d.summary
        # the same warnings seen again are not new
        assert await scan(store, 8, report("h1", pct(92.6), at(8), fds=5,
                                           fds_last=at(7) - timedelta(minutes=1))) == []
        # load migrated away: resolved (FDS warnings still in the 24 h window, none new)
        [d] = await scan(store, 9, report("h1", pct(40), at(9), fds=5,
                                          fds_last=at(7) - timedelta(minutes=1)))
        assert (d.kind, d.level, d.alert.id) == ("resolve", Risk.OK, alert_id)
        assert d.alert.resolved_at == at(9) and d.alert.peak_level == "critical"
        assert "back to OK" in d.summary
        assert await scan(store, 10, report("h1", pct(40), at(10))) == []
        [only] = await store.alerts(T0)
        assert only.id == alert_id and not only.active
        assert len(await store.snapshots("h1")) == 10  # every answered scan was recorded
    finally:
        await store.close()


async def test_hostd_restart_opens_a_warning_that_clears_next_scan(store: Store) -> None:
    assert await scan(store, 0, report("h2", pct(30), at(0))) == []
    restart = HostdEvent("restart", at(1) - timedelta(minutes=2), "hostd started")
    [d] = await scan(store, 1, report("h2", pct(30), at(1), hostd=[restart]))
    assert (d.kind, d.level) == ("open", Risk.WARNING) and "hostd restarted" in d.summary
    [d] = await scan(store, 2, report("h2", pct(30), at(2), hostd=[restart]))
    assert d.kind == "resolve"


async def test_hysteresis_keeps_a_hovering_host_in_one_incident(store: Store) -> None:
    decisions = []
    for i, p in enumerate([70, 80.5, 79.5, 80.2, 79.4, 80.1, 60]):
        decisions += await scan(store, i, report("h3", pct(p), at(i)))
    assert kinds(decisions) == [("open", "h3"), ("resolve", "h3")]


def test_first_sight_counts_only_recent_events_as_new() -> None:
    fresh = snap("h", T0, pct(20), fds=3)
    old_events = replace(fresh, fds_last=T0 - timedelta(hours=5))
    new_events = replace(fresh, fds_last=T0 - timedelta(minutes=5))
    assert evaluate(old_events, None, TH).level is Risk.OK
    assert evaluate(new_events, None, TH).level is Risk.WARNING
    assert evaluate(new_events, None, TH, AlertPolicy(fresh_window=timedelta(0))).level \
        is Risk.OK
