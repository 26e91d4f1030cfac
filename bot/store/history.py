"""SQL for the fleet history: snapshots, alert incidents, and scheduled-job firings.

Functions of one open transaction (`Tx`), called by `SqlStore`; both backends. Only our own
constant column lists are formatted into SQL; every value is a bound parameter."""
# ruff: noqa: S608

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.history.records import AlertRecord, Snapshot
from bot.store.conn import Tx
from bot.store.rows import dump_json, load_json

SNAPSHOT_COLUMNS = ("host, cluster, at, in_use, runtime_limit, configured_limit, fds_warnings,"
                    " fds_last, hostd_restarts, hostd_dumps, hostd_last, top_vms")
ALERT_COLUMNS = ("id, host, opened_at, updated_at, resolved_at, level, peak_level, channel,"
                 " message_ts, last_state, version")
_LEVELS = {"ok": 0, "warning": 1, "critical": 2}


# ---- snapshots ------------------------------------------------------------------------------

def add_snapshots(tx: Tx, snapshots: Sequence[Snapshot]) -> int:
    """Insert; a snapshot of the same host at the same instant is kept once. How many new."""
    d = tx.dialect
    added = 0
    for s in snapshots:
        row = tx.execute(
            f"INSERT INTO snapshots ({SNAPSHOT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (host, at) DO NOTHING RETURNING host",
            (s.host, s.cluster, d.to_db(s.at), s.in_use, s.runtime_limit, s.configured_limit,
             s.fds_warnings, _ts(tx, s.fds_last), s.hostd_restarts, s.hostd_dumps,
             _ts(tx, s.hostd_last), json.dumps([[n, h] for n, h in s.top_vms]))).one()
        added += row is not None
    return added


def snapshots(tx: Tx, host: str | None, since: datetime | None,
              until: datetime | None) -> list[Snapshot]:
    """Oldest first (then by host); `since` inclusive, `until` inclusive."""
    where: list[str] = []
    params: list[Any] = []
    if host is not None:
        where.append("host = ?")
        params.append(host)
    if since is not None:
        where.append("at >= ?")
        params.append(tx.dialect.to_db(since))
    if until is not None:
        where.append("at <= ?")
        params.append(tx.dialect.to_db(until))
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = tx.execute(f"SELECT {SNAPSHOT_COLUMNS} FROM snapshots{clause} ORDER BY at, host",
                      params).all()
    return [_snapshot(tx, r) for r in rows]


def latest_snapshots(tx: Tx, before: datetime | None) -> list[Snapshot]:
    """Each host's newest snapshot (strictly before `before` when given), by host name."""
    where = ""
    params: list[Any] = []
    if before is not None:
        where = " WHERE at < ?"
        params.append(tx.dialect.to_db(before))
    rows = tx.execute(f"SELECT {_prefixed('s', SNAPSHOT_COLUMNS)} FROM snapshots s JOIN"
                      f" (SELECT host, MAX(at) AS at FROM snapshots{where} GROUP BY host) m"
                      " ON s.host = m.host AND s.at = m.at ORDER BY s.host", params).all()
    return [_snapshot(tx, r) for r in rows]


def prune_snapshots(tx: Tx, before: datetime) -> int:
    rows = tx.execute("DELETE FROM snapshots WHERE at < ? RETURNING host",
                      (tx.dialect.to_db(before),)).all()
    return len(rows)


def _snapshot(tx: Tx, row: Sequence[Any]) -> Snapshot:
    (host, cluster, at, in_use, runtime, configured, fds, fds_last, restarts, dumps,
     hostd_last, top) = row
    return Snapshot(
        host=host, cluster=cluster, at=tx.dialect.from_db(at), in_use=int(in_use),
        runtime_limit=int(runtime),
        configured_limit=None if configured is None else int(configured),
        fds_warnings=int(fds), hostd_restarts=int(restarts), hostd_dumps=int(dumps),
        top_vms=[(str(n), int(h)) for n, h in json.loads(top or "[]")],
        fds_last=_from_ts(tx, fds_last), hostd_last=_from_ts(tx, hostd_last),
    )


# ---- alerts ---------------------------------------------------------------------------------

def open_alert(tx: Tx, host: str, level: str, state: dict[str, Any],
               now: datetime) -> AlertRecord | None:
    """A new active incident for `host`; None when one is already active (the partial unique
    index allows one active incident per host, so two replicas cannot both open one)."""
    t = tx.dialect.to_db(now)
    row = tx.execute(
        "INSERT INTO alerts (host, opened_at, updated_at, level, peak_level, last_state, version)"
        " VALUES (?,?,?,?,?,?,1) ON CONFLICT (host) WHERE resolved_at IS NULL DO NOTHING"
        f" RETURNING {ALERT_COLUMNS}",
        (host, t, t, level, level, dump_json(state))).one()
    return None if row is None else _alert(tx, row)


def update_alert(tx: Tx, alert_id: int, level: str, state: dict[str, Any],
                 now: datetime) -> AlertRecord | None:
    """New level and figures for an active incident; None when it is resolved or unknown."""
    current = get_alert(tx, alert_id)
    if current is None or current.resolved_at is not None:
        return None
    peak = level if _LEVELS.get(level, 0) > _LEVELS.get(current.peak_level, 0) \
        else current.peak_level
    row = tx.execute(
        "UPDATE alerts SET level = ?, peak_level = ?, last_state = ?, updated_at = ?,"
        " version = version + 1 WHERE id = ? AND resolved_at IS NULL"
        f" RETURNING {ALERT_COLUMNS}",
        (level, peak, dump_json(state), tx.dialect.to_db(now), alert_id)).one()
    return None if row is None else _alert(tx, row)


def resolve_alert(tx: Tx, alert_id: int, state: dict[str, Any],
                  now: datetime) -> AlertRecord | None:
    """Close an active incident (compare-and-set on `resolved_at IS NULL`)."""
    t = tx.dialect.to_db(now)
    row = tx.execute(
        "UPDATE alerts SET resolved_at = ?, updated_at = ?, last_state = ?,"
        " version = version + 1 WHERE id = ? AND resolved_at IS NULL"
        f" RETURNING {ALERT_COLUMNS}",
        (t, t, dump_json(state), alert_id)).one()
    return None if row is None else _alert(tx, row)


def set_alert_message(tx: Tx, alert_id: int, channel: str, ts: str) -> None:
    row = tx.execute("UPDATE alerts SET channel = ?, message_ts = ? WHERE id = ? RETURNING id",
                     (channel, ts, alert_id)).one()
    if row is None:
        raise KeyError(f"no alert {alert_id}")


def get_alert(tx: Tx, alert_id: int) -> AlertRecord | None:
    row = tx.execute(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?", (alert_id,)).one()
    return None if row is None else _alert(tx, row)


def active_alerts(tx: Tx, host: str | None) -> list[AlertRecord]:
    params: list[Any] = []
    clause = ""
    if host is not None:
        clause = " AND host = ?"
        params.append(host)
    rows = tx.execute(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE resolved_at IS NULL{clause}"
                      " ORDER BY opened_at, id", params).all()
    return [_alert(tx, r) for r in rows]


def alerts(tx: Tx, since: datetime, until: datetime | None) -> list[AlertRecord]:
    """Incidents that overlap [since, until]: still open, or resolved at/after `since`, and
    opened at/before `until`. Oldest first."""
    params: list[Any] = [tx.dialect.to_db(since)]
    clause = "(resolved_at IS NULL OR resolved_at >= ?)"
    if until is not None:
        clause += " AND opened_at <= ?"
        params.append(tx.dialect.to_db(until))
    rows = tx.execute(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE {clause}"
                      " ORDER BY opened_at, id", params).all()
    return [_alert(tx, r) for r in rows]


def _alert(tx: Tx, row: Sequence[Any]) -> AlertRecord:
    (id_, host, opened_at, updated_at, resolved_at, level, peak, channel, ts, state,
     version) = row
    return AlertRecord(
        id=int(id_), host=host, opened_at=tx.dialect.from_db(opened_at),
        updated_at=tx.dialect.from_db(updated_at), level=level, peak_level=peak,
        resolved_at=_from_ts(tx, resolved_at), channel=channel, message_ts=ts,
        last_state=load_json(state), version=int(version),
    )


# ---- scheduled-job firings ------------------------------------------------------------------

def claim_firing(tx: Tx, job: str, fire_at: datetime, holder: str, now: datetime) -> bool:
    """Record that `holder` runs `job`'s firing at `fire_at`; False when it was claimed
    before (by anyone): a firing runs once."""
    d = tx.dialect
    row = tx.execute(
        "INSERT INTO job_runs (job, fire_at, holder, started_at) VALUES (?,?,?,?)"
        " ON CONFLICT (job, fire_at) DO NOTHING RETURNING job",
        (job, d.to_db(fire_at), holder, d.to_db(now))).one()
    return row is not None


def finish_firing(tx: Tx, job: str, fire_at: datetime, outcome: str, now: datetime) -> None:
    d = tx.dialect
    tx.execute("UPDATE job_runs SET finished_at = ?, outcome = ? WHERE job = ? AND fire_at = ?",
               (d.to_db(now), outcome[:2000], job, d.to_db(fire_at)))


def last_firing(tx: Tx, job: str) -> datetime | None:
    row = tx.execute("SELECT MAX(fire_at) FROM job_runs WHERE job = ?", (job,)).one()
    return None if row is None or row[0] is None else tx.dialect.from_db(row[0])


# ---- helpers --------------------------------------------------------------------------------

def _ts(tx: Tx, when: datetime | None) -> Any:
    return None if when is None else tx.dialect.to_db(when)


def _from_ts(tx: Tx, value: Any) -> datetime | None:
    return None if value is None else tx.dialect.from_db(value)


def _prefixed(alias: str, columns: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in columns.split(","))
