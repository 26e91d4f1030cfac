"""The inventory the bot works on: hosts discovered in vCenter, the file's `[[hosts]]`, or
both (vCenter's hosts, with the file's entries overriding how to reach them by name)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, cast, get_args

from bot.errors import ConfigError
from bot.inventory import HostEntry, Inventory
from bot.vsphere.discovery import DiscoveredHost

log = logging.getLogger(__name__)

InventorySource = Literal["file", "vcenter", "both"]
SOURCES: tuple[str, ...] = get_args(InventorySource)
STANDALONE = "standalone"  # the cluster shown for a host outside any cluster


@dataclass(frozen=True, slots=True)
class HostOverride:
    """A `[[hosts]]` entry: how to reach the host called `name` where vCenter's name does
    not do (None: keep what vCenter says, or the defaults for a host only in the file)."""

    name: str
    address: str | None = None
    port: int | None = None
    username: str | None = None
    cluster: str | None = None

    @classmethod
    def from_entry(cls, entry: HostEntry, default_username: str = "root") -> HostOverride:
        """From a file HostEntry, whose unset fields the configuration filled with defaults
        (address = name, port 22, cluster "default", the [ssh] username): those count as
        unset."""
        return cls(
            name=entry.name,
            address=entry.address if entry.address != entry.name else None,
            port=entry.port if entry.port != 22 else None,
            username=entry.username if entry.username != default_username else None,
            cluster=entry.cluster if entry.cluster != "default" else None,
        )


def inventory_source(text: str) -> InventorySource:
    """`[inventory] source`, checked."""
    choices: tuple[str, ...] = get_args(InventorySource)
    if text not in choices:
        raise ConfigError(f"`inventory.source` must be one of {', '.join(choices)}, "
                          f"not {text!r}.")
    return cast(InventorySource, text)


def merge_inventory(discovered: Sequence[DiscoveredHost], overrides: Sequence[HostOverride], *,
                    source: InventorySource, default_username: str = "root") -> Inventory:
    """`file`: the file's hosts only. `vcenter`: the discovered hosts, each overridden by the
    file entry of the same name (case-insensitive); file entries vCenter does not know are
    left out (logged). `both`: as `vcenter`, plus the file's other hosts."""
    by_name = {o.name.lower(): o for o in overrides}
    if source == "file":
        return Inventory((from_file(o, default_username) for o in overrides), source=source)
    hosts = [from_vcenter(h, by_name.get(h.name.lower()), default_username) for h in discovered]
    known = {h.name.lower() for h in discovered}
    extra = [o for o in overrides if o.name.lower() not in known]
    if source == "both":
        hosts += [from_file(o, default_username) for o in extra]
    elif extra:
        log.warning("inventory: %d [[hosts]] entr%s not in vCenter's discovered hosts, left "
                    "out: %s", len(extra), "y" if len(extra) == 1 else "ies",
                    ", ".join(o.name for o in extra))
    return Inventory(hosts, source=source)


def from_vcenter(host: DiscoveredHost, override: HostOverride | None,
                 default_username: str = "root") -> HostEntry:
    o = override or HostOverride(host.name)
    return HostEntry(
        name=host.name,
        address=o.address or host.address,
        port=o.port or 22,
        cluster=o.cluster or host.cluster or STANDALONE,
        username=o.username or default_username,
        source="vcenter+file" if override is not None else "vcenter",
        datacenter=host.datacenter,
        connection_state=host.connection_state,
        in_maintenance=host.in_maintenance,
        power_state=host.power_state,
        has_gpu=host.has_gpu,
    )


def from_file(o: HostOverride, default_username: str = "root") -> HostEntry:
    return HostEntry(name=o.name, address=o.address or o.name, port=o.port or 22,
                     cluster=o.cluster or "default", username=o.username or default_username)


def gone(before: Iterable[HostEntry], after: Inventory) -> list[str]:
    """Names of hosts in `before` that `after` no longer has (a refresh dropped them: they
    stop being scanned)."""
    now = {h.name.lower() for h in after}
    return sorted(h.name for h in before if h.name.lower() not in now)
