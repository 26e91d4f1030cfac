"""The inventory from vCenter, kept fresh: discovered again when it is older than
`refresh_seconds` (10 minutes by default) or when asked (`refresh()`), merged with the
file's [[hosts]] overrides. A failed refresh keeps the last good inventory (logged)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

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
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._session = session
        self._source = source
        self._filters = filters or DiscoveryFilter()
        self._overrides = tuple(overrides)
        self._username = default_username
        self._refresh_seconds = refresh_seconds
        self._clock = clock
        self._inventory: Inventory | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def current(self) -> Inventory:
        """The inventory, discovered again first if it is older than the refresh interval."""
        if self._inventory is not None and self._clock() - self._at < self._refresh_seconds:
            return self._inventory
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
                    if self._inventory is None:
                        raise
                    log.error("inventory: refresh from vCenter failed, keeping the last one "
                              "(%d hosts): %s", len(self._inventory), err)
                    return self._inventory
            new = merge_inventory(found, self._overrides, source=self._source,
                                  default_username=self._username)
            if self._inventory is not None and (dropped := gone(self._inventory, new)):
                log.info("inventory: no longer in vCenter, no longer scanned: %s",
                         ", ".join(dropped))
            self._inventory, self._at = new, self._clock()
            return new
