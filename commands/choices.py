"""What pickers offer (Slack's modals and their select menus): hosts and VMs to pick, the
hosts a VM can move to with their projected usage, a fix's plan before it is proposed.

Every function asks the one gate first (`Effect.READ`, as the context's caller, checked
against the channel the answer is for): a picker shows nothing a `top` would not. Nothing
here changes anything; the change itself is proposed by running the command's words
(`migrate <vm> to <host>`, `power-off <vm> [hard]`, `fix <host>`)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import UsageError
from bot.esx.collect import collect_host
from bot.esx.report import HostReport
from bot.gate import Effect
from bot.remediation.plan import Plan, StepKind
from bot.remediation.planner import plan_fix, plan_migrate
from commands import needs
from commands.context import Context
from commands.params import host as host_entry
from commands.planning import find_vm, situation

MAX_CHOICES = 100  # Slack shows at most 100 options in a select


@dataclass(frozen=True)
class VmChoice:
    name: str
    host: str
    handles: int | None = None  # CHAR handles held, when the host was read


@dataclass(frozen=True)
class TargetChoice:
    """A host `vm` can move to, and the planner's projection of the move."""

    host: str
    before: float  # the target's % of its limit now
    after: float  # and after the move
    best: bool = False  # the one `migrate <vm>` would pick


@dataclass(frozen=True)
class Targets:
    vm: str
    source: str
    handles: int
    source_before: float
    source_after: float
    choices: list[TargetChoice]
    why_none: str | None = None  # the planner's reason when no host can take it


async def may_read(ctx: Context) -> None:
    """The gate's answer for reading, as the context's caller (Refused otherwise)."""
    await ctx.gate.authorize(ctx.principal, Effect.READ)


async def hosts_matching(ctx: Context, query: str) -> list[str]:
    """Inventory hosts whose name contains `query`, by name."""
    await may_read(ctx)
    q = query.strip().lower()
    return sorted(h.name for h in ctx.inventory if q in h.name.lower())[:MAX_CHOICES]


async def vms_on(ctx: Context, host: str, query: str = "") -> list[VmChoice]:
    """The host's named VMs, heaviest first (read from the host now)."""
    await may_read(ctx)
    entry = host_entry(ctx, host)
    report = await collect_host(ctx.transport, entry, now=ctx.clock())
    return _named(report, query)


async def vms_matching(ctx: Context, query: str) -> list[VmChoice]:
    """Running VMs anywhere in vCenter whose name contains `query`, by name."""
    await may_read(ctx)
    inventory = await needs.vcenter(ctx).inventory()
    q = query.strip().lower()
    found = sorted((v for v in inventory.vms
                    if v.power_state == "poweredOn" and v.host and q in v.name.lower()),
                   key=lambda v: v.name.lower())
    return [VmChoice(v.name, v.host or "") for v in found[:MAX_CHOICES]]


async def targets_for(ctx: Context, vm_name: str) -> Targets:
    """Where `vm_name` can go: each host of its cluster the planner would move it to (its
    vGPU profile offered, live migration possible, projected under the warning threshold),
    with the projected usage before and after; hosts with no room are not offered."""
    await may_read(ctx)
    source, vm, _ = await find_vm(ctx, vm_name)
    s = await situation(ctx, source)
    loads = {r.host: r for r in s.cluster}
    best = _target(plan_migrate(s.source, s.cluster, s.inventory, ctx.thresholds, vm, None))
    choices = []
    for name in sorted(loads):
        plan = plan_migrate(s.source, s.cluster, s.inventory, ctx.thresholds, vm, name)
        if _target(plan) == name:
            report = loads[name]
            choices.append(TargetChoice(name, report.percent_used,
                                        _percent(report, report.in_use + vm.char_handles),
                                        best=name == best))
    choices.sort(key=lambda c: (c.after, c.host))
    why = None
    if not choices:
        notes = plan_migrate(s.source, s.cluster, s.inventory, ctx.thresholds, vm, None).notes
        why = notes[0] if notes else f"No host in {source.name}'s cluster can take {vm.name}."
    src = s.source
    return Targets(vm.name or vm_name, source.name, vm.char_handles, src.percent_used,
                   _percent(src, src.in_use - vm.char_handles), choices, why)


async def fix_preview(ctx: Context, host: str) -> Plan:
    """The plan `fix <host>` would propose now (not stored: the proposal plans again)."""
    await may_read(ctx)
    s = await situation(ctx, host_entry(ctx, host))
    return plan_fix(s.source, s.cluster, s.inventory, ctx.thresholds)


def _named(report: HostReport, query: str) -> list[VmChoice]:
    q = query.strip().lower()
    ranked = sorted((vm for vm in report.vms if vm.name and q in vm.name.lower()),
                    key=lambda vm: -vm.char_handles)
    return [VmChoice(vm.name or "", report.host, vm.char_handles)
            for vm in ranked[:MAX_CHOICES]]


def _target(plan: Plan) -> str | None:
    moves = [s for s in plan.steps if s.kind is StepKind.MIGRATE]
    return moves[0].target if moves else None


def _percent(report: HostReport, in_use: int) -> float:
    if not report.limit.runtime:
        raise UsageError(f"{report.host} reports no handle limit.")
    return 100.0 * in_use / report.limit.runtime
