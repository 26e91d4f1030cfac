"""vCenter's facts for a host view: the host's cluster, maintenance mode and connection,
and its VMs' power state and vGPU profiles, read in bulk (`VCenter.inventory`, one
PropertyCollector round trip) while SSH reads the host. Joined to esxcli's VMs by BIOS UUID
(`HostFacts.vm`). Without vCenter, or when it cannot be read, there are none: the view is
the host's own (the failure is logged)."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from dataclasses import dataclass

from bot.errors import AioBotError
from bot.inventory import HostEntry
from bot.vsphere.api import VCenter, VcInventory
from commands.context import Context
from commands.host_results import HostFacts, VmFacts

log = logging.getLogger(__name__)


FACTS_SECONDS = 15.0  # how long one bulk read of vCenter serves the views (labels only)


@dataclass
class _Read:
    at: float
    inventory: asyncio.Future[VcInventory]


# per vCenter object (weakly: a new vCenter object never sees another's read): the latest
# read, or the one under way
_READS: weakref.WeakKeyDictionary[VCenter, _Read] = weakref.WeakKeyDictionary()


async def vcenter_facts(ctx: Context, host: HostEntry) -> HostFacts | None:
    """The host's facts from one bulk read of vCenter shared by every view asked for within
    FACTS_SECONDS (a burst of 100 `top`s is one read, not 100; changes always read afresh:
    their checks go to vCenter themselves)."""
    if ctx.vcenter is None:
        return None
    try:
        inventory = await _inventory(ctx.vcenter)
    except AioBotError as err:
        log.warning("vCenter facts for %s left out: %s", host.name, err)
        return None
    return facts_of(inventory, host.name)


async def _inventory(vcenter: VCenter) -> VcInventory:
    now = time.monotonic()
    read = _READS.get(vcenter)
    failed = read is not None and read.inventory.done() and read.inventory.exception()
    if read is None or failed or now - read.at > FACTS_SECONDS:
        future = asyncio.ensure_future(vcenter.inventory())
        read = _READS[vcenter] = _Read(now, future)
    return await asyncio.shield(read.inventory)


def facts_of(inventory: VcInventory, name: str) -> HostFacts | None:
    """The facts of the host vCenter calls `name` (None when vCenter does not know it)."""
    host = inventory.host(name)
    if host is None:
        return None
    vms = {vm.bios_uuid: VmFacts(vm.name, vm.power_state, vm.vgpu_profiles)
           for vm in inventory.vms_on(host.name)}
    return HostFacts(host.cluster, host.in_maintenance, host.connected, vms)
