"""Fleet scans shared by the replicas of one PostgreSQL store.

The replica asked for a scan (the coordinator) writes one work item per host
(`bot.store.scan_items`); every replica's worker, the coordinator's included, takes pending
items (`FOR UPDATE SKIP LOCKED`) up to its own concurrency, reads each host once in one SSH
exec (`bot.esx.collect.read_host`) and stores the raw read, renewing its lease while it
works. The coordinator parses the reads as they land, reports progress, and returns the
outcomes in the hosts' order: one scan message, whoever read which host. A replica that dies
mid-scan stops renewing: its items' leases run out and another replica takes them.

SQLite (one process) does not share: `shares_scans` is False and scans run as before."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from bot.clock import utcnow
from bot.errors import AioBotError
from bot.esx.collect import (
    HostFailure,
    Progress,
    RawRead,
    ScanOutcome,
    host_failure,
    read_host,
    report_from_read,
)
from bot.esx.transport import Transport
from bot.inventory import HostEntry, Inventory
from bot.store.scan_items import ItemKey, ScanItems

log = logging.getLogger(__name__)


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class SharedScans:
    """The coordinator's `scan` and every replica's worker (`start`/`stop`)."""

    def __init__(self, store: ScanItems, transport: Transport, inventory: Inventory, *,
                 concurrency: int, holder: str | None = None, lease: float = 90.0,
                 poll: float = 0.5, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.transport = transport
        self.inventory = inventory
        self.concurrency = max(1, concurrency)
        self.holder = holder or default_holder()
        self.lease = timedelta(seconds=lease)
        self.poll = poll
        self.clock = clock
        self._held: dict[ItemKey, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- the coordinator ----------------------------------------------------------------

    async def scan(self, hosts: Sequence[HostEntry], *, progress: Progress | None = None,
                   now: datetime | None = None) -> list[ScanOutcome]:
        """Every host read once by some replica; outcomes in `hosts` order."""
        at = now or self.clock()
        scan_id = uuid.uuid4().hex
        await self.store.add_scan_items(scan_id, [h.name for h in hosts], scan_at=at,
                                        now=self.clock())
        self.start()
        self._wake.set()
        outcomes: dict[int, ScanOutcome] = {}
        try:
            while len(outcomes) < len(hosts):
                new = sorted(await self.store.done_positions(scan_id) - outcomes.keys())
                for pos, _, holder, result in await self.store.scan_results(scan_id, new):
                    outcomes[pos] = outcome_of(hosts[pos], result)
                    log.debug("scan %s: %s read by %s", scan_id, hosts[pos].name, holder)
                    if progress is not None:
                        await progress(len(outcomes), len(hosts), outcomes[pos])
                if len(outcomes) < len(hosts):
                    await asyncio.sleep(self.poll / 2)
        finally:
            with contextlib.suppress(Exception):
                await self.store.drop_scan(scan_id)
        return [outcomes[i] for i in range(len(hosts))]

    # --- the worker (every replica) -----------------------------------------------------

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.work(),
                                                                name="aio-scanshare")

    async def stop(self) -> None:
        """Stop taking items; give back the ones being read."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        held = list(self._held)
        for reading in list(self._held.values()):
            reading.cancel()
        await asyncio.gather(*self._held.values(), return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.store.release_scan_items(self.holder, held)

    async def work(self) -> None:
        """Take, read and finish items until cancelled."""
        loop = asyncio.get_running_loop()
        renew_at = loop.time() + self.lease.total_seconds() / 3
        while True:
            taken = 0
            try:
                taken = await self._take()
                if loop.time() >= renew_at:
                    renew_at = loop.time() + self.lease.total_seconds() / 3
                    await self.store.renew_scan_items(self.holder, list(self._held),
                                                      lease_until=self.clock() + self.lease)
            except AioBotError as err:  # the store could not answer: try again later
                log.warning("shared scan: %s", err)
            if not taken:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll)

    async def _take(self) -> int:
        free = self.concurrency - len(self._held)
        if free <= 0:
            return 0
        now = self.clock()
        items = await self.store.claim_scan_items(self.holder, now=now,
                                                   lease_until=now + self.lease, limit=free)
        for scan_id, host, at in items:
            key = (scan_id, host)
            self._held[key] = asyncio.get_running_loop().create_task(self._read(key, at))
        return len(items)

    async def _read(self, key: ItemKey, at: datetime) -> None:
        try:
            result = await self._result(key[1], at)
            if not await self.store.finish_scan_item(self.holder, key, result):
                log.info("shared scan: %s was taken over before its read landed", key[1])
        except AioBotError as err:
            log.warning("shared scan: %s: %s", key[1], err)
        finally:
            self._held.pop(key, None)
            self._wake.set()

    async def _result(self, name: str, at: datetime) -> str:
        try:
            host = self.inventory.get(name)
        except AioBotError as err:
            return json.dumps({"error": f"not in this replica's inventory: {err}"})
        try:
            raw = await read_host(self.transport, host, now=at)
        except AioBotError as err:
            failure = host_failure(host, err)
            return json.dumps({"error": failure.error, "key_status": failure.key_status,
                               "fingerprint": failure.fingerprint})
        return json.dumps({"nonce": raw.nonce, "at": raw.at.isoformat(), "stdout": raw.stdout,
                           "stderr": raw.stderr, "bytes": raw.bytes_received})


def outcome_of(host: HostEntry, result: str) -> ScanOutcome:
    """A stored read (or failure) as the scan's outcome for `host`."""
    data = json.loads(result)
    if "error" in data:
        return HostFailure(host.name, host.cluster, str(data["error"]), data.get("key_status"),
                           data.get("fingerprint"))
    raw = RawRead(int(data["nonce"]), datetime.fromisoformat(data["at"]), str(data["stdout"]),
                  str(data["stderr"]), int(data["bytes"]))
    try:
        return report_from_read(host, raw)
    except AioBotError as err:
        return host_failure(host, err)
