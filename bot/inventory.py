"""The hosts aio-bot may talk to. A host name from a user must resolve here before anything
runs; nothing a user types is ever passed to a shell."""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from bot.errors import UnknownHostError


@dataclass(frozen=True, slots=True)
class HostEntry:
    """One ESXi host: how to reach it and where it belongs.

    The fields after `username` say where the entry came from and what vCenter last said of
    the host; they are left out of equality and hashing, so a host whose state changes
    between two discoveries is still the same key (SSH clients and locks are kept by entry).
    """

    name: str
    address: str
    port: int = 22
    cluster: str = "default"
    username: str = "root"
    source: str = field(default="file", compare=False)  # file, vcenter, vcenter+file
    datacenter: str | None = field(default=None, compare=False)
    connection_state: str = field(default="connected", compare=False)  # as vCenter says
    in_maintenance: bool = field(default=False, compare=False)
    power_state: str = field(default="poweredOn", compare=False)
    has_gpu: bool | None = field(default=None, compare=False)  # None: not known (file)

    @property
    def connected(self) -> bool:
        """Whether SSH is worth trying: vCenter says connected (a file's host always is)."""
        return self.connection_state == "connected"


Refresher = Callable[[], Awaitable[object]]


class Inventory:
    """Hosts by name, case-insensitive, with suggestions for near misses.

    One object for the bot's lifetime: an inventory discovered in vCenter is kept current
    in place (`replace`, by `bot.vsphere.inventory_source.VCenterInventory`), so whoever
    holds it sees the hosts of the last discovery; `refresh()` asks for a discovery now
    (a file's inventory has nothing to refresh). `source` says where the hosts come from
    (`file`, `vcenter`, `both`), `refreshed_at` when they were last discovered."""

    def __init__(self, hosts: Iterable[HostEntry], *, source: str = "file") -> None:
        self._hosts: dict[str, HostEntry] = _by_name(hosts)
        self.source = source
        self.refreshed_at: datetime | None = None
        self._refresher: Refresher | None = None

    def replace(self, hosts: Iterable[HostEntry], *, at: datetime | None = None) -> None:
        """The hosts of a new discovery, in place of the old ones (one swap: a reader sees
        either set, never a mix)."""
        self._hosts = _by_name(hosts)
        self.refreshed_at = at

    def keep_current_with(self, refresher: Refresher) -> None:
        """What `refresh()` calls: a discovery that `replace`s the hosts."""
        self._refresher = refresher

    @property
    def refreshable(self) -> bool:
        return self._refresher is not None

    async def refresh(self) -> Inventory:
        """Discover the hosts now (nothing to do for a file's inventory); this inventory."""
        if self._refresher is not None:
            await self._refresher()
        return self

    def __iter__(self) -> Iterator[HostEntry]:
        return iter(sorted(self._hosts.values(), key=lambda h: h.name))

    def __len__(self) -> int:
        return len(self._hosts)

    def get(self, name: str) -> HostEntry:
        """The host called `name`, or UnknownHostError with the nearest names."""
        host = self._hosts.get(name.strip().lower())
        if host is None:
            raise UnknownHostError(name, self.suggest(name))
        return host

    def suggest(self, name: str, count: int = 3) -> list[str]:
        names = [h.name for h in self]
        return difflib.get_close_matches(name.strip().lower(), names, n=count, cutoff=0.5)

    def clusters(self) -> list[str]:
        return sorted({h.cluster for h in self._hosts.values()})

    def in_cluster(self, cluster: str) -> list[HostEntry]:
        wanted = cluster.strip().lower()
        return [h for h in self if h.cluster.lower() == wanted]

    def reachable(self) -> list[HostEntry]:
        """Hosts vCenter does not call disconnected or not responding (all of a file's)."""
        return [h for h in self if h.connected]


def _by_name(hosts: Iterable[HostEntry]) -> dict[str, HostEntry]:
    return {host.name.lower(): host for host in hosts}
