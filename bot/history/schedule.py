"""A tiny cron, and a scheduler that runs named jobs once per firing across replicas.

`Cron.parse("0 9 * * 1-5")`: five fields (minute hour day-of-month month day-of-week) with
`*`, lists (`1,15`), ranges (`1-5`), steps (`*/15`, `8-18/2`, `5/15`), month and weekday
names (`jan`, `mon`), day-of-week 0-7 (0 and 7 are Sunday), and `@hourly`, `@daily`,
`@weekly`, `@monthly`, `@yearly`. As in Vixie cron, when both day-of-month and day-of-week are
restricted a day matches if either does. Times are evaluated in the schedule's zone (UTC by
default).

`Every(timedelta(minutes=5))`: firings on multiples of the interval since the Unix epoch, so
every replica computes the same firing times.

`Scheduler` keeps, per job, the next firing time. When the clock reaches it, the scheduler
takes the store lease `job:<name>` (so two replicas never run a job at the same time), then
claims the firing in the store (`claim_firing(job, fire_at)`: a firing that was claimed
before, by this or another replica, never runs again), runs the job, records the outcome, and
moves to the next firing after *now* (missed firings are not run in a burst). The clock and
the sleep are injectable, so tests drive time by hand."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from bot.clock import utcnow
from bot.store.api import Store

log = logging.getLogger(__name__)

_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
_MACROS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
           "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *",
           "@annually": "0 0 1 1 *"}
_SEARCH_DAYS = 366 * 8 + 2  # Feb 29 on a given weekday can be 28 years away; cap: 8 years


class CronError(ValueError):
    """A cron expression that does not parse, or can never fire."""


def _field(text: str, low: int, high: int, names: dict[str, int] | None,
           what: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.lower().split(","):
        if not part:
            raise CronError(f"empty list item in the {what} field {text!r}")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) < 1:
                raise CronError(f"bad step {step_text!r} in the {what} field")
            step = int(step_text)
        if base == "*":
            start, end = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            start, end = _value(a, low, high, names, what), _value(b, low, high, names, what)
            if start > end:
                raise CronError(f"range {base!r} runs backwards in the {what} field")
        else:
            start = _value(base, low, high, names, what)
            end = high if slash else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, low: int, high: int, names: dict[str, int] | None, what: str) -> int:
    if names and text in names:
        return names[text]
    if not text.isdigit():
        raise CronError(f"{text!r} is not a number in the {what} field")
    number = int(text)
    if not low <= number <= high:
        raise CronError(f"{number} is out of range {low}-{high} in the {what} field")
    return number


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool
    tz: tzinfo = UTC

    @classmethod
    def parse(cls, expression: str, tz: tzinfo = UTC) -> Cron:
        text = _MACROS.get(expression.strip().lower(), expression)
        fields = text.split()
        if len(fields) != 5:
            raise CronError(f"cron needs 5 fields (minute hour day month weekday), got "
                            f"{len(fields)} in {expression!r}")
        minute, hour, dom, month, dow = fields
        weekdays = _field(dow, 0, 7, _DAYS, "day-of-week")
        cron = cls(
            expression=expression.strip(),
            minutes=_field(minute, 0, 59, None, "minute"),
            hours=_field(hour, 0, 23, None, "hour"),
            days=_field(dom, 1, 31, None, "day-of-month"),
            months=_field(month, 1, 12, _MONTHS, "month"),
            weekdays=frozenset(d % 7 for d in weekdays),
            days_restricted=not dom.startswith("*"),
            weekdays_restricted=not dow.startswith("*"),
            tz=tz,
        )
        cron.next_fire(datetime(2000, 1, 1, tzinfo=UTC))  # raises if it can never fire
        return cron

    def _day_matches(self, day: datetime) -> bool:
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return dom or dow
        return dom and dow

    def next_fire(self, after: datetime) -> datetime:
        """The first firing strictly after `after` (tz-aware), in UTC."""
        if after.tzinfo is None:
            raise ValueError("next_fire needs a tz-aware datetime")
        local = after.astimezone(self.tz).replace(tzinfo=None)
        t = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = t + timedelta(days=_SEARCH_DAYS)
        while t < limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
                continue
            if not self._day_matches(t):
                t = t.replace(hour=0, minute=0) + timedelta(days=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
                continue
            later = [m for m in sorted(self.minutes) if m >= t.minute]
            if not later:
                t = t.replace(minute=0) + timedelta(hours=1)
                continue
            return t.replace(minute=later[0], tzinfo=self.tz).astimezone(UTC)
        raise CronError(f"{self.expression!r} never fires")


@dataclass(frozen=True)
class Every:
    """Every `interval`, on multiples of it since the Unix epoch (UTC)."""

    interval: timedelta

    def __post_init__(self) -> None:
        if self.interval <= timedelta(0):
            raise ValueError("the interval must be positive")

    def next_fire(self, after: datetime) -> datetime:
        if after.tzinfo is None:
            raise ValueError("next_fire needs a tz-aware datetime")
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        step = self.interval.total_seconds()
        n = (after - epoch).total_seconds() // step + 1
        return epoch + timedelta(seconds=n * step)


class Trigger(Protocol):
    def next_fire(self, after: datetime) -> datetime: ...


JobFn = Callable[[datetime], Awaitable[object]]  # called with the firing time


@dataclass
class Job:
    name: str
    trigger: Trigger
    run: JobFn
    next_at: datetime | None = field(default=None, compare=False)



def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Scheduler:
    """Runs named jobs on their triggers; once per firing across replicas sharing a store."""

    def __init__(self, store: Store, jobs: Sequence[Job], *, holder: str | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
                 lease_ttl: timedelta = timedelta(minutes=10),
                 max_sleep: timedelta = timedelta(minutes=1)) -> None:
        names = [j.name for j in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate job names in {names}")
        self.store = store
        self.jobs = list(jobs)
        self.holder = holder or default_holder()
        self.clock = clock
        self.sleep = sleep
        self.lease_ttl = lease_ttl
        self.max_sleep = max_sleep
        self.ran: list[tuple[str, datetime]] = []  # (job, firing) this instance ran

    def start(self, now: datetime | None = None) -> None:
        """Schedule each job's first firing after `now` (idempotent for scheduled jobs)."""
        now = now or self.clock()
        for job in self.jobs:
            if job.next_at is None:
                job.next_at = job.trigger.next_fire(now)

    def next_wakeup(self) -> datetime | None:
        times = [j.next_at for j in self.jobs if j.next_at is not None]
        return min(times) if times else None

    async def run_pending(self) -> list[tuple[str, datetime]]:
        """Run every job whose firing time has come; the (job, firing) pairs run here."""
        self.start()
        now = self.clock()
        done: list[tuple[str, datetime]] = []
        for job in self.jobs:
            fire_at = job.next_at
            if fire_at is None or fire_at > now:
                continue
            job.next_at = job.trigger.next_fire(max(now, fire_at))
            if await self._fire(job, fire_at):
                done.append((job.name, fire_at))
        return done

    async def run(self, *, stop: asyncio.Event | None = None,
                  until: datetime | None = None) -> None:
        """Loop until `stop` is set or the clock passes `until`."""
        self.start()
        while not (stop is not None and stop.is_set()):
            await self.run_pending()
            now = self.clock()
            if until is not None and now >= until:
                return
            wake = self.next_wakeup()
            delay = self.max_sleep if wake is None else min(wake - now, self.max_sleep)
            if until is not None:
                delay = min(delay, until - now)
            await self.sleep(max(0.0, delay.total_seconds()))

    async def _fire(self, job: Job, fire_at: datetime) -> bool:
        lease = f"job:{job.name}"
        now = self.clock()
        if not await self.store.lease(lease, self.holder, self.lease_ttl.total_seconds(), now):
            log.info("job %s at %s: another replica holds the lease", job.name, fire_at)
            return False
        try:
            if not await self.store.claim_firing(job.name, fire_at, self.holder, now=now):
                log.info("job %s at %s already ran", job.name, fire_at)
                return False
            outcome = "ok"
            try:
                await job.run(fire_at)
            except Exception as err:  # a failing job must not stop the others
                log.exception("job %s at %s failed", job.name, fire_at)
                outcome = f"failed: {type(err).__name__}: {err}"
            await self.store.finish_firing(job.name, fire_at, outcome, now=self.clock())
            self.ran.append((job.name, fire_at))
            return True
        finally:
            await self.store.release_lease(lease, self.holder)
