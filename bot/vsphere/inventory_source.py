"""The inventory from vCenter, kept fresh: discovered again when it is older than
`refresh_seconds` (10 minutes by default), in the background (`keep_fresh`), or when asked
(`refresh()`, or `Inventory.refresh()` on the live inventory), merged with the file's
[[hosts]] overrides. A failed refresh keeps the last good inventory (logged).

`live` is one `Inventory` object, updated in place by every refresh: the bot's services
hand it out once and everybody sees the current hosts without knowing about vCenter."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from bot.errors import VCenterError
from bot.inventory import Inventory
from bot.vsphere.discovery import DiscoveryFilter, discover_hosts
from bot.vsphere.merge import HostOverride, InventorySource, gone, merge_inventory
from bot.vsphere.session import Session

log = logging.getLogger(__name__)
DEFAULT_REFRESH_SECONDS = 600.0


class VCenterInventory:
    def __init__(self, session: Session, *, source: InventorySource = "vcenter",
                 filters: DiscoveryFilter | None = None,
                 overrides: Sequence[HostOverride] = (), default_username: str = "root",
                 refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
                 clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._session = session
        self._source = source
        self._filters = filters or DiscoveryFilter()
        self._overrides = tuple(overrides)
        self._username = default_username
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._now = now
        self._good = False  # a discovery has succeeded
        self._at = 0.0
        self._lock = asyncio.Lock()
        self.live = Inventory([], source=source)
        self.live.keep_current_with(self.refresh)
        self.dropped: list[str] = []  # names the last refresh no longer found

    async def current(self) -> Inventory:
        """The inventory, discovered again first if it is older than the refresh interval."""
        if self._good and self._clock() - self._at < self._refresh_seconds:
            return self.live
        return await self.refresh()

    async def refresh(self) -> Inventory:
        """Discover now (one PropertyCollector round trip). Raises VCenterError only when
        there is no earlier inventory to fall back on."""
        async with self._lock:
            if self._source == "file":
                found = []
            else:
                try:
                    found = await discover_hosts(self._session, self._filters)
                except VCenterError as err:
                    if not self._good:
                        raise
                    log.error("inventory: refresh from vCenter failed, keeping the last one "
                              "(%d hosts): %s", len(self.live), err)
                    return self.live
            new = merge_inventory(found, self._overrides, source=self._source,
                                  default_username=self._username)
            self.dropped = gone(self.live, new) if self._good else []
            if self.dropped:
                log.info("inventory: no longer in vCenter, no longer scanned: %s",
                         ", ".join(self.dropped))
            self.live.replace(new, at=self._now())
            self._good, self._at = True, self._clock()
            return self.live

    async def keep_fresh(self) -> None:
        """Refresh every `refresh_seconds` until cancelled (a failure is logged and the
        last inventory kept)."""
        while True:
            await asyncio.sleep(max(0.0, self._at + self._refresh_seconds - self._clock()))
            before = self._at
            try:
                await self.refresh()
            except VCenterError as err:  # only before a first success
                log.error("inventory: discovery in vCenter failed: %s", err)
            if self._at == before:  # failed: try again in a minute (or the interval)
                await asyncio.sleep(min(60.0, self._refresh_seconds))
