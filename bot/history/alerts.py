"""Alert incidents: one per host while it is in trouble, opened once, updated in place only
when something changed materially, resolved when it clears. No flood on every scan.

A host is *in incident* after a scan when its load (% of the runtime limit in use) is at or
over the warning threshold, or when FDS "No free handles" warnings or a hostd restart or core
dump appeared since its previous snapshot. The incident level is the load's risk, at least
`warning` when new events triggered it. It resolves at the first scan whose load is under the
warning threshold (by `AlertPolicy.resolve_margin` points, a small hysteresis) with no new
events.

Unlike `bot.assess.risk_of`, the 24 h count of FDS warnings alone does not keep an incident
open: that count stays up for a day after the load was moved away. *New* warnings (the newest
warning time advanced since the previous snapshot) open or extend an incident instead.

A host in maintenance mode (put there on purpose) raises no alert below critical: its
evaluation is OK unless its load is critical.

An incident can be silenced (`bot.history.silence`): acknowledged (who, when) or snoozed for a
while or until it resolves. That state lives in the incident's `last_state["silence"]` and is
carried over by every scan; the Slack layer reads it to stop pinging and editing.

`decide` is pure; `process_scan` / `process_snapshots` read the previous snapshots and the
active incidents from the store, record the scan's snapshots, and persist the decisions. The
Slack layer posts or updates one message per decision and then calls
`store.set_alert_message(decision.alert.id, channel, ts)`."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.assess import Risk, Thresholds
from bot.esx.collect import ScanOutcome
from bot.esx.report import HostReport
from bot.history.forecast import Forecast, ForecastSettings, forecast, human_duration
from bot.history.records import AlertRecord, Snapshot
from bot.history.snapshot import snapshots_of
from bot.store.api import Store

DecisionKind = Literal["open", "update", "resolve"]


@dataclass(frozen=True)
class AlertPolicy:
    """What counts as a material change, and how to treat a host seen for the first time."""

    material_percent: float = 2.0  # % points of the limit the load must move to update
    fresh_window: timedelta = timedelta(hours=1)  # no previous snapshot: events this recent
    #                                               count as new
    # hysteresis: an open incident resolves only once the load is this many % points under
    # the warning threshold, so a host hovering at the line does not open and resolve on
    # alternate scans (0 resolves as soon as the load is under the threshold)
    resolve_margin: float = 1.0
    forecast: ForecastSettings = field(default_factory=ForecastSettings)


@dataclass(frozen=True)
class Evaluation:
    """One host after one scan, compared with its previous snapshot."""

    load_risk: Risk  # from % in use alone
    level: Risk  # the incident level: OK means "no incident"
    new_fds: int  # FDS warnings new since the previous snapshot (approximate count)
    new_hostd: tuple[str, ...]  # "restart", "coredump" or "event" (time advanced only)
    reasons: tuple[str, ...]
    clears: bool = True  # no incident, and the load is under warning - resolve_margin


@dataclass(frozen=True)
class AlertDecision:
    """What the Slack layer posts (open) or edits in place (update, resolve)."""

    kind: DecisionKind
    host: str
    alert: AlertRecord
    summary: str
    level: Risk  # the incident level now (OK for resolve)
    forecast: Forecast | None
    snapshot: Snapshot
    reasons: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()  # for `update`: what moved since the last message

    @property
    def cluster(self) -> str | None:
        return self.snapshot.cluster


def load_risk(percent: float, thresholds: Thresholds) -> Risk:
    if percent >= thresholds.critical_percent:
        return Risk.CRITICAL
    if percent >= thresholds.warning_percent:
        return Risk.WARNING
    return Risk.OK


def evaluate(current: Snapshot, previous: Snapshot | None, thresholds: Thresholds,
             policy: AlertPolicy | None = None, *, maintenance: bool = False) -> Evaluation:
    """With `maintenance` (the host is in maintenance mode), only a critical load alerts."""
    policy = policy or AlertPolicy()
    risk = load_risk(current.percent_used, thresholds)
    if maintenance and risk is not Risk.CRITICAL:
        clears = current.percent_used < thresholds.warning_percent - policy.resolve_margin
        return Evaluation(risk, Risk.OK, 0, (), ("in maintenance mode",), clears)
    new_fds = _new_fds(current, previous, policy)
    new_hostd = _new_hostd(current, previous, policy)
    reasons: list[str] = []
    if risk is not Risk.OK:
        reasons.append(f"{current.percent_used:.1f}% of the limit in use "
                       f"(≥ {_threshold(risk, thresholds):g}% {risk.value})")
    if new_fds:
        reasons.append(f"new FDS 'No free handles' warnings ({current.fds_warnings:,} in 24 h)")
    if new_hostd:
        reasons.append("hostd " + " and ".join(_HOSTD_WORDS[k] for k in new_hostd))
    level = risk
    if level is Risk.OK and (new_fds or new_hostd):
        level = Risk.WARNING
    clears = (level is Risk.OK
              and current.percent_used < thresholds.warning_percent - policy.resolve_margin)
    return Evaluation(risk, level, new_fds, new_hostd, tuple(reasons), clears)


_HOSTD_WORDS = {"restart": "restarted", "coredump": "dumped core", "event": "restarted"}


def _threshold(risk: Risk, thresholds: Thresholds) -> float:
    return thresholds.critical_percent if risk is Risk.CRITICAL else thresholds.warning_percent


def _new_fds(current: Snapshot, previous: Snapshot | None, policy: AlertPolicy) -> int:
    if not current.fds_warnings:
        return 0
    if previous is None:
        fresh = (current.fds_last is not None
                 and current.fds_last >= current.at - policy.fresh_window)
        return current.fds_warnings if fresh else 0
    if current.fds_last is not None and (previous.fds_last is None
                                         or current.fds_last > previous.fds_last):
        return max(1, current.fds_warnings - previous.fds_warnings)
    if current.fds_last is None and current.fds_warnings > previous.fds_warnings:
        return current.fds_warnings - previous.fds_warnings
    return 0


def _new_hostd(current: Snapshot, previous: Snapshot | None,
               policy: AlertPolicy) -> tuple[str, ...]:
    if not (current.hostd_restarts or current.hostd_dumps):
        return ()
    if previous is None:
        fresh = (current.hostd_last is not None
                 and current.hostd_last >= current.at - policy.fresh_window)
        if not fresh:
            return ()
        return tuple(k for k, n in (("restart", current.hostd_restarts),
                                    ("coredump", current.hostd_dumps)) if n)
    kinds = [k for k, now_, before in (("restart", current.hostd_restarts,
                                        previous.hostd_restarts),
                                       ("coredump", current.hostd_dumps, previous.hostd_dumps))
             if now_ > before]
    advanced = current.hostd_last is not None and (previous.hostd_last is None
                                                   or current.hostd_last > previous.hostd_last)
    if advanced and not kinds:
        kinds = ["event"]
    return tuple(kinds)


# ---- the decision and the figures it remembers ----------------------------------------------

def state_of(snapshot: Snapshot, ev: Evaluation, fc: Forecast | None) -> dict[str, Any]:
    """The figures an incident message shows, stored as the alert's `last_state`."""
    return {
        "at": snapshot.at.isoformat(),
        "level": ev.level.value,
        "load_risk": ev.load_risk.value,
        "percent": round(snapshot.percent_used, 2),
        "in_use": snapshot.in_use,
        "runtime_limit": snapshot.runtime_limit,
        "configured_limit": snapshot.configured_limit,
        "fds_warnings": snapshot.fds_warnings,
        "new_fds": ev.new_fds,
        "hostd_restarts": snapshot.hostd_restarts,
        "hostd_dumps": snapshot.hostd_dumps,
        "new_hostd": list(ev.new_hostd),
        "reasons": list(ev.reasons),
        "top_vms": [[n, h] for n, h in snapshot.top_vms],
        "forecast": None if fc is None else {
            "kind": fc.kind, "eta": fc.eta.isoformat() if fc.eta else None,
            "slope_per_hour": round(fc.slope_per_hour, 2),
            "r2": None if fc.r2 is None else round(fc.r2, 3)},
    }


def material_changes(last_state: dict[str, Any], ev: Evaluation, snapshot: Snapshot,
                     policy: AlertPolicy | None = None) -> tuple[str, ...]:
    """Why the incident's message must be updated; empty when nothing changed materially:
    the level changed, the load moved ≥ `material_percent` points since the last message,
    new FDS warnings, or a new hostd event."""
    policy = policy or AlertPolicy()
    changes: list[str] = []
    old_level = last_state.get("level")
    if old_level != ev.level.value:
        changes.append(f"level {old_level} → {ev.level.value}")
    old_pct = last_state.get("percent")
    pct = snapshot.percent_used
    if isinstance(old_pct, int | float) and abs(pct - old_pct) >= policy.material_percent:
        changes.append(f"load {old_pct:.1f}% → {pct:.1f}%")
    if ev.new_fds:
        changes.append("new FDS warnings")
    if ev.new_hostd:
        changes.append("new hostd event")
    return tuple(changes)


def decide(ev: Evaluation, active: AlertRecord | None, snapshot: Snapshot,
           policy: AlertPolicy | None = None) -> tuple[DecisionKind | None, tuple[str, ...]]:
    """open / update / resolve / nothing (None), and the material changes for an update."""
    if active is None:
        return ("open", ()) if ev.level is not Risk.OK else (None, ())
    if ev.level is Risk.OK:  # under the line: resolve once clear of the hysteresis band
        return ("resolve", ()) if ev.clears else (None, ())
    changes = material_changes(active.last_state, ev, snapshot, policy)
    return ("update", changes) if changes else (None, ())


def summary_text(kind: DecisionKind, snapshot: Snapshot, ev: Evaluation, fc: Forecast | None,
                 alert: AlertRecord | None = None) -> str:
    """The incident message's text (plain; the Slack layer adds blocks and buttons)."""
    figures = (f"{snapshot.in_use:,} of {snapshot.runtime_limit:,} AIO handles in use "
               f"({snapshot.percent_used:.1f}%)")
    if kind == "resolve":
        lasted = ""
        if alert is not None:
            lasted = (f" The incident lasted {human_duration(snapshot.at - alert.opened_at)};"
                      f" peak {alert.peak_level.upper()}.")
        return (f"{snapshot.host} is back to OK: {figures}, no new FDS warnings or hostd "
                f"events since the last scan.{lasted}")
    parts = [f"{snapshot.host} is {ev.level.value.upper()}: {figures}."]
    if snapshot.fds_warnings:
        new = " (new since the last scan)" if ev.new_fds else ""
        parts.append(f"{snapshot.fds_warnings:,} FDS 'No free handles' warnings in the last "
                     f"24 h{new}.")
    if ev.new_hostd:
        parts.append("hostd " + " and ".join(_HOSTD_WORDS[k] for k in ev.new_hostd)
                     + " since the last scan.")
    if fc is not None:
        parts.append(f"Forecast: {fc.describe(snapshot.at)}.")
    if snapshot.reboot_pending:
        parts.append(f"FDSNumAIOHandles {snapshot.configured_limit:,} waits for a reboot.")
    if snapshot.top_vms:
        heavy = ", ".join(f"{n} ({h:,})" for n, h in snapshot.top_vms[:3])
        parts.append(f"Heaviest VMs: {heavy}.")
    return " ".join(parts)


# ---- with the store -------------------------------------------------------------------------

async def process_scan(store: Store, outcomes: Sequence[ScanOutcome], thresholds: Thresholds,
                       now: datetime, *, policy: AlertPolicy | None = None,
                       record: bool = True, maintenance: Collection[str] = ()
                       ) -> list[AlertDecision]:
    """Snapshot the scan's reports (stored when `record`), compare each host with its previous
    snapshot, and open, update or resolve its incident. Hosts that failed to answer are left
    as they were; hosts named in `maintenance` alert only when critical. The decisions, by
    host."""
    reports = [o for o in outcomes if isinstance(o, HostReport)]
    return await process_snapshots(store, snapshots_of(reports, now), thresholds, now,
                                   policy=policy, record=record, maintenance=maintenance)


async def process_snapshots(store: Store, snapshots: Sequence[Snapshot],
                            thresholds: Thresholds, now: datetime, *,
                            policy: AlertPolicy | None = None,
                            record: bool = True, maintenance: Collection[str] = ()
                            ) -> list[AlertDecision]:
    """`process_scan` for snapshots already taken (a replayed or simulated history)."""
    policy = policy or AlertPolicy()
    earliest = min((s.at for s in snapshots), default=now)
    previous = {s.host: s for s in await store.latest_snapshots(before=earliest)}
    if record:
        await store.add_snapshots(snapshots)
    active = {a.host: a for a in await store.active_alerts()}
    decisions: list[AlertDecision] = []
    for snap in sorted(snapshots, key=lambda s: s.host):
        ev = evaluate(snap, previous.get(snap.host), thresholds, policy,
                      maintenance=snap.host in maintenance)
        current = active.get(snap.host)
        if current is None and ev.level is Risk.OK:
            continue
        decision = await _apply(store, snap, ev, current, policy, now, record)
        if decision is not None:
            decisions.append(decision)
    return decisions


async def _apply(store: Store, snap: Snapshot, ev: Evaluation, active: AlertRecord | None,
                 policy: AlertPolicy, now: datetime, recorded: bool) -> AlertDecision | None:
    fc = await _forecast(store, snap, policy.forecast, recorded)
    if active is not None and _load_rose(active.last_state, snap, policy):
        fc = fc.after_a_rise()  # the update line says it rose: the forecast must not deny it
    state = state_of(snap, ev, fc)
    if active is not None and SILENCE in active.last_state:  # an ack or snooze stays
        state[SILENCE] = active.last_state[SILENCE]
    kind, changes = decide(ev, active, snap, policy)
    if kind == "open":
        opened = await store.open_alert(snap.host, ev.level.value, state, now=now)
        if opened is not None:
            return AlertDecision("open", snap.host, opened, summary_text("open", snap, ev, fc),
                                 ev.level, fc, snap, ev.reasons)
        # another replica opened it between our read and our insert: treat as active
        active = await store.active_alert(snap.host)
        if active is None:
            return None
        kind, changes = decide(ev, active, snap, policy)
    if active is None or kind is None:
        return None
    if kind == "resolve":
        resolved = await store.resolve_alert(active.id, state, now=now)
        if resolved is None:
            return None
        return AlertDecision("resolve", snap.host, resolved,
                             summary_text("resolve", snap, ev, fc, resolved), Risk.OK, fc, snap,
                             ev.reasons)
    updated = await store.update_alert(active.id, ev.level.value, state, now=now)
    if updated is None:
        return None
    return AlertDecision("update", snap.host, updated, summary_text("update", snap, ev, fc),
                         ev.level, fc, snap, ev.reasons, changes)


def _load_rose(last_state: dict[str, Any], snap: Snapshot, policy: AlertPolicy) -> bool:
    """Whether the load rose by `material_percent` points or more since the last message."""
    old = last_state.get("percent")
    return isinstance(old, int | float) and snap.percent_used - old >= policy.material_percent


SILENCE = "silence"  # the key of `last_state` that holds an acknowledgement or a snooze


def evaluation_of(state: dict[str, Any]) -> Evaluation:
    """The evaluation an incident's `last_state` recorded (to show its message again)."""
    return Evaluation(Risk(state.get("load_risk", "ok")), Risk(state.get("level", "warning")),
                      int(state.get("new_fds", 0)), tuple(state.get("new_hostd", ())),
                      tuple(state.get("reasons", ())), False)


async def current_decision(store: Store, alert: AlertRecord,
                           policy: AlertPolicy | None = None) -> AlertDecision | None:
    """The incident's message as the last scan left it (an `update` with no changes), to
    show it again after it was acknowledged or snoozed; None without a snapshot."""
    policy = policy or AlertPolicy()
    latest = [s for s in await store.latest_snapshots() if s.host == alert.host]
    if not latest:
        return None
    snap, ev = latest[0], evaluation_of(alert.last_state)
    fc = await _forecast(store, snap, policy.forecast, True)
    kind: DecisionKind = "update" if alert.active else "resolve"
    return AlertDecision(kind, alert.host, alert, summary_text(kind, snap, ev, fc, alert),
                         ev.level if alert.active else Risk.OK, fc, snap, ev.reasons)


async def _forecast(store: Store, snap: Snapshot, settings: ForecastSettings,
                    recorded: bool) -> Forecast:
    history = await store.snapshots(snap.host, snap.at - settings.window, snap.at)
    if not recorded or not any(h.at == snap.at for h in history):
        history.append(snap)
    return forecast(history, settings)
