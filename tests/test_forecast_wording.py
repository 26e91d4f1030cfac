"""Forecast lines that say what they know, through the alert pipeline and its Slack view: a
sudden rise after a noisy stretch says "rising" or "too noisy to tell", never "not rising",
and the alert's update line and its forecast line never contradict each other."""

from __future__ import annotations

from datetime import timedelta

from bot.assess import Thresholds
from bot.history.alerts import AlertDecision, process_scan
from bot.slack.views.alert import alert_message
from bot.store import open_store
from tests.test_history_helpers import T0, pct, report

STEP = timedelta(minutes=5)


def forecast_line(decision: AlertDecision) -> str:
    message = alert_message(decision, decision.snapshot.at)
    lines = [e["text"] for b in message.blocks if b["type"] == "context"
             for e in b["elements"] if "Forecast:" in e["text"]]
    assert len(lines) == 1, message.blocks
    return lines[0]


async def test_a_sudden_rise_is_never_called_not_rising(db_url: str) -> None:
    store = open_store(db_url)
    await store.migrate()
    loads = [84.0, 81.5, 84.6, 82.0, 84.9, 81.8, 84.2, 82.3, 84.2, 93.4]
    decisions: list[AlertDecision] = []
    try:
        for i, load in enumerate(loads):
            decisions += await process_scan(store, [report("h1", pct(load), T0 + STEP * i)],
                                            Thresholds(), T0 + STEP * i)
    finally:
        await store.close()
    last = decisions[-1]
    assert last.kind == "update" and "level warning → critical" in last.changes
    assert any(c.startswith("load ") and c.endswith("→ 93.4%") for c in last.changes)
    line = forecast_line(last)
    assert "rising" in line or "too noisy to tell" in line, line
    assert "not rising" not in line and "flat" not in line and "falling" not in line, line
    for d in decisions:  # no message of the incident ever says "not rising"
        assert "not rising" not in d.summary, d.summary
