"""vCenter's facts for a host view: the host's cluster, maintenance mode and connection,
and its VMs' power state and vGPU profiles, read in bulk (`VCenter.inventory`, one
PropertyCollector round trip) while SSH reads the host. Joined to esxcli's VMs by BIOS UUID
(`HostFacts.vm`). Without vCenter, or when it cannot be read, there are none: the view is
the host's own (the failure is logged)."""

from __future__ import annotations

import logging

from bot.errors import AioBotError
from bot.inventory import HostEntry
from bot.vsphere.api import VcInventory
from commands.context import Context
from commands.host_results import HostFacts, VmFacts

log = logging.getLogger(__name__)


async def vcenter_facts(ctx: Context, host: HostEntry) -> HostFacts | None:
    if ctx.vcenter is None:
        return None
    try:
        inventory = await ctx.vcenter.inventory()
    except AioBotError as err:
        log.warning("vCenter facts for %s left out: %s", host.name, err)
        return None
    return facts_of(inventory, host.name)


def facts_of(inventory: VcInventory, name: str) -> HostFacts | None:
    """The facts of the host vCenter calls `name` (None when vCenter does not know it)."""
    host = inventory.host(name)
    if host is None:
        return None
    vms = {vm.bios_uuid: VmFacts(vm.name, vm.power_state, vm.vgpu_profiles)
           for vm in inventory.vms_on(host.name)}
    return HostFacts(host.cluster, host.in_maintenance, host.connected, vms)
