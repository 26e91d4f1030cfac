"""The one seam to the database: remediation requests and their audit trail, leases (with
fencing tokens), Slack deliveries, and the history's snapshots, incidents and job firings.

Two implementations behind `open_store(url)`: SQLite (a file path, the default) and
PostgreSQL (a `postgresql://` URL, for several bot replicas). Every state change is a
compare-and-set, so a double click, a Slack retry or two replicas can never run a request
twice; the audit trail is append-only and hash-chained (`bot.store.audit_chain`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # records of the fleet history (bot/history/records.py)
    from collections.abc import Sequence

    from bot.history.records import AlertRecord, Snapshot
    from bot.store.audit_chain import ChainReport
    from bot.store.schema import SchemaStatus


class State(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # its runner lost it mid-way: a person must look at the host

    @property
    def needs_review(self) -> bool:
        return self is State.INTERRUPTED


# The only transitions the store accepts.
TRANSITIONS: dict[State, frozenset[State]] = {
    State.PROPOSED: frozenset({State.APPROVED, State.REJECTED, State.EXPIRED, State.CANCELLED}),
    State.APPROVED: frozenset({State.RUNNING, State.FAILED, State.INTERRUPTED}),
    State.RUNNING: frozenset({State.SUCCEEDED, State.FAILED, State.INTERRUPTED}),
}
FINAL = frozenset({State.SUCCEEDED, State.FAILED, State.REJECTED, State.EXPIRED,
                   State.CANCELLED, State.INTERRUPTED})


@dataclass(frozen=True)
class NewRequest:
    kind: str  # raise-limit | reboot | migrate | power-off, or fix (steps of several kinds)
    target: str  # host name (raise-limit, reboot, plan) or VM name
    host: str  # the host the request is about
    params: dict[str, Any]  # JSON-serialisable
    requested_by: str  # Slack user ID, or `console`
    expires_at: datetime
    channel: str | None = None


@dataclass(frozen=True)
class Request:
    id: int
    kind: str
    target: str
    host: str
    params: dict[str, Any]
    state: State
    requested_by: str
    created_at: datetime
    expires_at: datetime
    updated_at: datetime
    approved_by: str | None = None
    channel: str | None = None
    message_ts: str | None = None
    outcome: str | None = None
    version: int = 1


@dataclass(frozen=True)
class AuditEntry:
    id: int
    request_id: int | None
    host: str | None
    at: datetime
    actor: str
    event: str  # proposed, approved, rejected, ran, output, succeeded, failed, expired, ...
    detail: dict[str, Any] = field(default_factory=dict)


class Store(Protocol):
    async def migrate(self) -> int:
        """Apply pending schema migrations (the explicit `aio-bot migrate` step, as the
        tables' owner); the schema version afterwards. Nothing runs when up to date."""
        ...

    async def schema_status(self) -> SchemaStatus:
        """The database's schema version against this aio-bot's, changing nothing."""
        ...

    async def require_schema(self) -> SchemaStatus:
        """The status if the schema is the wanted one; else `SchemaOutOfDate` (a StoreError
        saying "run `aio-bot migrate`", or "upgrade aio-bot")."""
        ...

    async def verify_audit(self) -> ChainReport:
        """Check the audit trail's hash chain: OK and the row count, or the first broken
        row (`broken_id`) and why (`reason`); `describe()` says it in one line."""
        ...

    async def create(self, new: NewRequest, *, now: datetime) -> Request:
        """Store a proposed request and its `proposed` audit entry, atomically."""
        ...

    async def get(self, request_id: int) -> Request | None: ...

    async def transition(
        self,
        request_id: int,
        expected: State,
        new: State,
        *,
        actor: str,
        now: datetime,
        detail: dict[str, Any] | None = None,
        approved_by: str | None = None,
        outcome: str | None = None,
    ) -> Request | None:
        """Compare-and-set: move from `expected` to `new` only if the request is in
        `expected` now (and the transition is allowed); write the audit entry in the same
        transaction. None when another actor got there first."""
        ...

    async def set_message(self, request_id: int, channel: str, ts: str) -> None: ...

    async def audit(self, request_id: int | None, host: str | None, actor: str, event: str,
                    detail: dict[str, Any], *, now: datetime) -> AuditEntry:
        """Append one audit entry (never updated, never deleted)."""
        ...

    async def audit_trail(self, *, host: str | None = None, request_id: int | None = None,
                          limit: int = 100) -> list[AuditEntry]:
        """Newest last."""
        ...

    async def requests(self, *, host: str | None = None, states: frozenset[State] | None = None,
                       limit: int = 100) -> list[Request]: ...

    async def expire_due(self, *, now: datetime) -> list[Request]:
        """Move every proposed request past its expiry to `expired` (CAS each); the moved."""
        ...

    async def lease(self, name: str, holder: str, ttl_seconds: float, now: datetime) -> bool:
        """Take or renew the named lease for `ttl_seconds` from `now`: granted (True) when it
        is free, expired, or already `holder`'s; one conditional upsert, so of several
        replicas asking at once exactly one holds it. For scheduled work that must run once:
        each replica asks before a run (with a stable holder id, e.g. host:pid) and skips the
        run when refused; renew before `ttl_seconds` pass. Replicas' clocks must agree to
        well within the ttl."""
        ...

    async def first_delivery(self, key: str, *, now: datetime, keep: timedelta) -> bool:
        """Record a Slack delivery (event or trigger ID); True if no replica recorded it in
        the last `keep` (Slack retries events for about 5 minutes)."""
        ...

    async def fence(self, name: str, holder: str, ttl_seconds: float,
                    now: datetime) -> int | None:
        """`lease`, with its fencing token (it grows at every change of holder); None when
        another holder has it."""
        ...

    async def hold(self, name: str, holder: str, token: int, ttl_seconds: float,
                   now: datetime) -> bool:
        """Still `holder`'s with `token`, and not expired? Then extended; else False."""
        ...

    async def release_lease(self, name: str, holder: str) -> bool:
        """Give the lease up early if `holder` holds it; whether it did."""
        ...

    # ---- fleet history (bot/history; SQL in bot/store/history.py) ----------------------

    async def add_snapshots(self, snapshots: Sequence[Snapshot]) -> int:
        """Store one scan's snapshots (a host's snapshot at the same instant is kept once);
        how many were new."""
        ...

    async def snapshots(self, host: str | None = None, since: datetime | None = None,
                        until: datetime | None = None) -> list[Snapshot]:
        """Snapshots in [since, until] (both inclusive), oldest first."""
        ...

    async def latest_snapshots(self, *, before: datetime | None = None) -> list[Snapshot]:
        """Each host's newest snapshot (strictly before `before` when given), by host."""
        ...

    async def prune_snapshots(self, before: datetime) -> int:
        """Delete snapshots taken before `before` (retention); how many."""
        ...

    async def open_alert(self, host: str, level: str, state: dict[str, Any], *,
                         now: datetime) -> AlertRecord | None:
        """Open an incident for `host`; None when one is already active (one per host)."""
        ...

    async def update_alert(self, alert_id: int, level: str, state: dict[str, Any], *,
                           now: datetime) -> AlertRecord | None:
        """New level and figures for an active incident; None when it is resolved."""
        ...

    async def resolve_alert(self, alert_id: int, state: dict[str, Any], *,
                            now: datetime) -> AlertRecord | None:
        """Resolve an active incident (compare-and-set); None when it already was."""
        ...

    async def set_alert_message(self, alert_id: int, channel: str, ts: str) -> None:
        """Where the incident's one Slack message lives, to update it in place."""
        ...

    async def get_alert(self, alert_id: int) -> AlertRecord | None: ...

    async def active_alert(self, host: str) -> AlertRecord | None: ...

    async def active_alerts(self) -> list[AlertRecord]:
        """Every open incident, oldest first."""
        ...

    async def alerts(self, since: datetime, until: datetime | None = None) -> list[AlertRecord]:
        """Incidents overlapping [since, until]: open, or resolved at/after `since`."""
        ...

    async def claim_firing(self, job: str, fire_at: datetime, holder: str, *,
                           now: datetime) -> bool:
        """Record that `holder` runs `job`'s firing scheduled at `fire_at`; False when that
        firing was claimed before, by anyone (so a firing runs once)."""
        ...

    async def finish_firing(self, job: str, fire_at: datetime, outcome: str, *,
                            now: datetime) -> None: ...

    async def last_firing(self, job: str) -> datetime | None:
        """The newest claimed firing time of `job`."""
        ...

    async def close(self) -> None: ...
