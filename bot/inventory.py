"""The hosts aio-bot may talk to. A host name from a user must resolve here before anything
runs; nothing a user types is ever passed to a shell."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

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


class Inventory:
    """Hosts by name, case-insensitive, with suggestions for near misses."""

    def __init__(self, hosts: Iterable[HostEntry]) -> None:
        self._hosts: dict[str, HostEntry] = {}
        for host in hosts:
            self._hosts[host.name.lower()] = host

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
