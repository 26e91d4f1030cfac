"""The cron parser, and the scheduler's once-only firings under a controllable clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.history.schedule import Cron, CronError, Every, Job, Scheduler
from bot.store import Store, open_store


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize("expr,after,expected", [
    ("*/15 * * * *", utc(2025, 3, 3, 9, 0), utc(2025, 3, 3, 9, 15)),
    ("*/15 * * * *", utc(2025, 3, 3, 9, 7, 30), utc(2025, 3, 3, 9, 15)),
    ("*/15 * * * *", utc(2025, 3, 3, 23, 59), utc(2025, 3, 4, 0, 0)),
    # weekdays at 09:00: Friday 09:00 -> Monday 09:00
    ("0 9 * * 1-5", utc(2025, 3, 7, 9, 0), utc(2025, 3, 10, 9, 0)),
    ("0 9 * * 1-5", utc(2025, 3, 3, 8, 59, 59), utc(2025, 3, 3, 9, 0)),
    ("0 9 * * mon-fri", utc(2025, 3, 8, 12, 0), utc(2025, 3, 10, 9, 0)),
    # lists and ranges with steps
    ("5,35 8-18/2 * * *", utc(2025, 3, 3, 8, 40), utc(2025, 3, 3, 10, 5)),
    ("0 0,12 * * *", utc(2025, 3, 3, 0, 0), utc(2025, 3, 3, 12, 0)),
    # month and day-of-month edges
    ("0 0 31 * *", utc(2025, 4, 1, 0, 0), utc(2025, 5, 31, 0, 0)),
    ("0 0 29 2 *", utc(2025, 3, 1, 0, 0), utc(2028, 2, 29, 0, 0)),
    ("0 0 1 jan *", utc(2025, 12, 31, 23, 59), utc(2026, 1, 1, 0, 0)),
    ("59 23 31 12 *", utc(2025, 12, 31, 23, 58), utc(2025, 12, 31, 23, 59)),
    # both day fields restricted: either matches (1st of the month or a Sunday)
    ("0 6 1 * 0", utc(2025, 3, 2, 7, 0), utc(2025, 3, 9, 6, 0)),
    ("0 6 1 * 7", utc(2025, 3, 29, 7, 0), utc(2025, 3, 30, 6, 0)),
    ("@daily", utc(2025, 3, 3, 0, 0), utc(2025, 3, 4, 0, 0)),
    ("5/20 * * * *", utc(2025, 3, 3, 9, 30), utc(2025, 3, 3, 9, 45)),
])
def test_cron_next_fire(expr: str, after: datetime, expected: datetime) -> None:
    assert Cron.parse(expr).next_fire(after) == expected


def test_cron_in_a_time_zone() -> None:
    cron = Cron.parse("0 9 * * *", tz=ZoneInfo("Europe/Berlin"))
    assert cron.next_fire(utc(2025, 1, 10, 0, 0)) == utc(2025, 1, 10, 8, 0)  # CET
    assert cron.next_fire(utc(2025, 7, 10, 0, 0)) == utc(2025, 7, 10, 7, 0)  # CEST


@pytest.mark.parametrize("expr", ["* * * *", "60 * * * *", "* 24 * * *", "0 0 0 * *",
                                  "0 0 * 13 *", "* * * * 8", "*/0 * * * *", "5-1 * * * *",
                                  "a * * * *", "1,,2 * * * *", "0 0 30 2 *"])
def test_cron_rejects(expr: str) -> None:
    with pytest.raises(CronError):
        Cron.parse(expr)


def test_every_is_aligned_to_the_epoch() -> None:
    every = Every(timedelta(minutes=5))
    assert every.next_fire(utc(2025, 3, 3, 9, 2, 10)) == utc(2025, 3, 3, 9, 5)
    assert every.next_fire(utc(2025, 3, 3, 9, 5)) == utc(2025, 3, 3, 9, 10)


class FakeClock:
    """Time moves only when someone sleeps."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


async def test_digest_fires_at_its_time_once(store: Store) -> None:
    clock = FakeClock(utc(2025, 3, 3, 8, 58, 30))  # a Monday
    fired: list[tuple[datetime, datetime]] = []

    async def digest(at: datetime) -> None:
        fired.append((at, clock.now))

    sched = Scheduler(store, [Job("digest", Cron.parse("0 9 * * 1-5"), digest)],
                      holder="r1", clock=clock, sleep=clock.sleep)
    await sched.run(until=utc(2025, 3, 3, 10, 30))
    assert fired == [(utc(2025, 3, 3, 9, 0), utc(2025, 3, 3, 9, 0))]
    assert await store.last_firing("digest") == utc(2025, 3, 3, 9, 0)
    # a restarted scheduler (or a clock stepping back) never runs that firing again
    clock.now = utc(2025, 3, 3, 8, 59, 59)
    again = Scheduler(store, [Job("digest", Cron.parse("0 9 * * 1-5"), digest)],
                      holder="r1", clock=clock, sleep=clock.sleep)
    await again.run(until=utc(2025, 3, 3, 9, 1))
    assert len(fired) == 1
    # the next weekday's firing does run
    clock.now = utc(2025, 3, 4, 8, 59)
    await again.run(until=utc(2025, 3, 4, 9, 1))
    assert [at for at, _ in fired] == [utc(2025, 3, 3, 9, 0), utc(2025, 3, 4, 9, 0)]


async def test_two_replicas_run_each_firing_once(db_url: str) -> None:
    stores = [open_store(db_url), open_store(db_url)]
    await stores[0].migrate()
    clock = FakeClock(utc(2025, 3, 3, 8, 50))
    fired: list[tuple[str, str, datetime]] = []

    def job(name: str, replica: str):
        async def run(at: datetime) -> None:
            fired.append((name, replica, at))
            await asyncio.sleep(0)
        return run

    replicas = [
        Scheduler(s, [Job("digest", Cron.parse("0 9 * * *"), job("digest", r)),
                      Job("scan", Every(timedelta(minutes=15)), job("scan", r))],
                  holder=r, clock=clock, sleep=clock.sleep)
        for s, r in zip(stores, ("r1", "r2"), strict=True)
    ]
    try:
        # both replicas wake every 20 s (a tick that misses the exact firing time) and race
        # for each firing through the store: the lease and the claim pick one
        while clock.now <= utc(2025, 3, 3, 10, 0):
            await asyncio.gather(*(r.run_pending() for r in replicas))
            clock.now += timedelta(seconds=20)
    finally:
        for s in stores:
            await s.close()
    digests = [(r, at) for name, r, at in fired if name == "digest"]
    scans = sorted(at for name, _, at in fired if name == "scan")
    assert len(digests) == 1 and digests[0][1] == utc(2025, 3, 3, 9, 0)
    assert scans == [utc(2025, 3, 3, 9, 0) + timedelta(minutes=15 * i) for i in range(5)]


async def test_a_failing_job_is_recorded_and_does_not_stop_the_others(store: Store) -> None:
    clock = FakeClock(utc(2025, 3, 3, 8, 59))
    ran: list[str] = []

    async def boom(at: datetime) -> None:
        raise RuntimeError("no SSH today")

    async def fine(at: datetime) -> None:
        ran.append("fine")

    sched = Scheduler(store, [Job("boom", Every(timedelta(minutes=1)), boom),
                              Job("fine", Every(timedelta(minutes=1)), fine)],
                      holder="r1", clock=clock, sleep=clock.sleep)
    await sched.run(until=utc(2025, 3, 3, 9, 2))
    assert len(ran) == 3
    assert [name for name, _ in sched.ran].count("boom") == 3


async def test_a_held_lease_skips_the_run(store: Store) -> None:
    clock = FakeClock(utc(2025, 3, 3, 8, 59))
    ran: list[datetime] = []

    async def job(at: datetime) -> None:
        ran.append(at)

    assert await store.lease("job:digest", "other-replica", 3600, clock.now)
    sched = Scheduler(store, [Job("digest", Cron.parse("0 9 * * *"), job)], holder="r1",
                      clock=clock, sleep=clock.sleep)
    await sched.run(until=utc(2025, 3, 3, 9, 5))
    assert ran == []
