"""Shared by the remediation commands: collect what a plan needs, and resolve VM names."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot import messages
from bot.errors import PreconditionFailed, UsageError
from bot.esx.collect import collect_host, scan_hosts
from bot.esx.report import HostReport, VmUsage
from bot.inventory import HostEntry
from bot.remediation.identity import check_listed, listed_vms
from bot.remediation.plan import Plan, with_vm_facts
from bot.vsphere.api import VcInventory
from commands import needs
from commands.context import Context
from commands.results import PlanResult


@dataclass(frozen=True)
class Situation:
    source: HostReport
    cluster: list[HostReport]
    inventory: VcInventory


async def situation(ctx: Context, host: HostEntry) -> Situation:
    """The host's report, its cluster peers' reports and vCenter's inventory, at once."""
    peers = [h for h in ctx.inventory.in_cluster(host.cluster) if h.name != host.name]
    source, outcomes, inventory = await asyncio.gather(
        collect_host(ctx.transport, host, now=ctx.clock()),
        scan_hosts(ctx.transport, peers, concurrency=ctx.concurrency, now=ctx.clock()),
        needs.vcenter(ctx).inventory(),
    )
    cluster = [o for o in outcomes if isinstance(o, HostReport)]
    return Situation(source, cluster, inventory)


async def find_vm(ctx: Context, name: str) -> tuple[HostEntry, VmUsage, HostReport]:
    """A running VM by name: vCenter says where it runs, that host's report has its handles."""
    inventory = await needs.vcenter(ctx).inventory()
    matches = [v for v in inventory.vms if v.name == name and v.power_state == "poweredOn"]
    if not matches:
        close = sorted(v.name for v in inventory.vms if name.lower() in v.name.lower())[:3]
        hint = f" Did you mean {', '.join(f'`{c}`' for c in close)}?" if close else ""
        raise UsageError(f"No running VM is called `{messages.shown(name, 60)}`.{hint}")
    if len(matches) > 1:
        raise UsageError(f"{len(matches)} running VMs are called `{name}`; refusing to guess.")
    if matches[0].host is None:
        raise UsageError(f"vCenter does not say which host runs `{name}`.")
    host = ctx.inventory.get(matches[0].host)
    report = await collect_host(ctx.transport, host, now=ctx.clock())
    for vm in report.vms:
        if vm.name == name:
            return host, vm, report
    raise UsageError(f"{host.name} does not list `{name}` in `esxcli vm process list`.")


async def propose(ctx: Context, plan: Plan) -> PlanResult:
    """Store the plan as a request, once every VM it names is proven to be that VM (the
    host's structured VM list agrees on name, BIOS UUID and world)."""
    await _prove_vms(ctx, plan)
    inventory = await needs.vcenter(ctx).inventory()
    plan = with_vm_facts(plan, {v.bios_uuid: (", ".join(v.vgpu_profiles) or None,
                                              v.power_state) for v in inventory.vms})
    request = await needs.remediation(ctx).propose(plan, ctx.principal)
    return PlanResult(request, plan)


async def _prove_vms(ctx: Context, plan: Plan) -> None:
    steps = [s for s in plan.steps if s.vm]
    for host in sorted({s.host for s in steps}):
        vms = await listed_vms(ctx.transport, ctx.inventory.get(host))
        for step in (s for s in steps if s.host == host):
            try:
                check_listed(step, vms, host)
            except PreconditionFailed as err:
                raise UsageError(str(err)) from None
