"""From a host's report, its cluster's reports and vCenter's inventory to a plan.

- the setting waits for a reboot: evacuate the vGPU VMs, reboot;
- the fix applies and the setting is below 65536: raise it, evacuate, reboot;
- otherwise: migrate the heaviest VMs, each to a host of the same cluster that offers its
  vGPU profile, with live migration supported and enabled and projected usage under the
  warning threshold, until the source is projected under it; power-off only for VMs with
  nowhere to go.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.assess import Thresholds
from bot.esx.commandlines import AIO_HANDLES_FIXED
from bot.esx.report import HostReport, VmUsage
from bot.remediation.plan import Plan, Step, StepKind
from bot.vsphere.api import VcHost, VcInventory, VcVm, bios_uuid_from_esxcli


@dataclass
class _Load:
    """A host's projected handles while the plan is built."""

    report: HostReport
    in_use: int = field(init=False)

    def __post_init__(self) -> None:
        self.in_use = self.report.in_use

    def percent(self, extra: int = 0) -> float:
        return 100.0 * (self.in_use + extra) / self.report.limit.runtime


@dataclass
class _Planning:
    source: _Load
    targets: dict[str, _Load]
    inventory: VcInventory
    thresholds: Thresholds
    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def plan_fix(source: HostReport, cluster: list[HostReport], inventory: VcInventory,
             thresholds: Thresholds) -> Plan:
    """The plan for `/aio fix <host>`."""
    p = _planning(source, cluster, inventory, thresholds)
    limit = source.limit
    if limit.reboot_pending and (limit.configured or 0) > limit.runtime:
        _evacuate(p)
        _reboot(p, f"FDSNumAIOHandles is set to {limit.configured:,}; the host runs with "
                   f"{limit.runtime:,} until it reboots.")
        return Plan(source.host, f"Reboot {source.host} to apply FDSNumAIOHandles", p.steps,
                    p.notes)
    if source.fix.available and limit.runtime < AIO_HANDLES_FIXED:
        p.steps.append(raise_limit_step(source))
        _evacuate(p)
        _reboot(p, "The raised limit takes effect only after a reboot.")
        return Plan(source.host, f"Raise FDSNumAIOHandles on {source.host} and reboot",
                    p.steps, p.notes)
    if source.percent_used < thresholds.warning_percent:
        p.notes.append(f"{source.host} is under the warning threshold: nothing to do.")
        return Plan(source.host, f"{source.host} needs no change", [], p.notes)
    _relieve(p)
    return Plan(source.host, f"Move load off {source.host}", p.steps, p.notes)


def plan_reboot(source: HostReport, cluster: list[HostReport], inventory: VcInventory,
                thresholds: Thresholds) -> Plan:
    """`/aio reboot <host>`: evacuate, then reboot through maintenance mode."""
    p = _planning(source, cluster, inventory, thresholds)
    _evacuate(p)
    _reboot(p, "Requested reboot (through maintenance mode).")
    return Plan(source.host, f"Reboot {source.host}", p.steps, p.notes)


def plan_migrate(source: HostReport, cluster: list[HostReport], inventory: VcInventory,
                 thresholds: Thresholds, vm: VmUsage, target: str | None) -> Plan:
    """`/aio migrate <vm> [to <host>]`: one migration, to `target` or the best host."""
    p = _planning(source, cluster, inventory, thresholds)
    vc_vm = _vc_vm(inventory, vm)
    if target is not None:
        p.targets = {k: v for k, v in p.targets.items() if k.lower() == target.lower()}
    why_not = _place(p, vm, vc_vm)
    if why_not:
        p.notes.append(why_not)
    return Plan(source.host, f"Migrate {vm.name}", p.steps, p.notes)


def raise_limit_step(source: HostReport) -> Step:
    return Step(StepKind.RAISE_LIMIT, source.host,
                reason=f"{source.fix.reason}",
                effect=f"Configured becomes {AIO_HANDLES_FIXED:,}; Runtime stays "
                       f"{source.limit.runtime:,} until the reboot.")


def power_off_step(source: HostReport, vm: VmUsage, reason: str, *, hard: bool = False) -> Step:
    after = 100.0 * (source.in_use - vm.char_handles) / source.limit.runtime
    return Step(StepKind.POWER_OFF, source.host, reason=reason,
                effect=f"{source.host}: {source.percent_used:.0f}% → {after:.0f}%",
                vm=vm.name, vm_uuid=vm.uuid, handles=vm.char_handles, hard=hard,
                world_id=vm.world_id)


def _planning(source: HostReport, cluster: list[HostReport], inventory: VcInventory,
              thresholds: Thresholds) -> _Planning:
    cluster_name = _cluster_of(inventory, source)
    targets = {}
    for report in cluster:
        host = inventory.host(report.host)
        if report.host == source.host or host is None or host.cluster != cluster_name:
            continue
        targets[report.host] = _Load(report)
    return _Planning(_Load(source), targets, inventory, thresholds)


def _cluster_of(inventory: VcInventory, report: HostReport) -> str | None:
    host = inventory.host(report.host)
    return host.cluster if host else report.cluster


def _vc_vm(inventory: VcInventory, vm: VmUsage) -> VcVm | None:
    if vm.uuid:
        try:
            uuid = bios_uuid_from_esxcli(vm.uuid)
        except ValueError:
            uuid = ""
        found = [v for v in inventory.vms if v.bios_uuid == uuid]
        if len(found) == 1:
            return found[0]
    named = [v for v in inventory.vms if v.name == vm.name]
    return named[0] if len(named) == 1 else None


def _evacuate(p: _Planning) -> None:
    """Every running VM off the source: DRS does not evacuate vGPU VMs."""
    for vm in p.source.report.vms:
        if vm.name is None:
            continue
        why_not = _place(p, vm, _vc_vm(p.inventory, vm))
        if why_not:
            p.steps.append(power_off_step(p.source.report, vm, why_not))


def _relieve(p: _Planning) -> None:
    target = p.source.report.limit.runtime * p.thresholds.warning_percent / 100.0
    for vm in p.source.report.vms:
        if p.source.in_use < target:
            return
        if vm.name is None or vm.char_handles == 0:
            continue
        why_not = _place(p, vm, _vc_vm(p.inventory, vm))
        if why_not:
            p.steps.append(power_off_step(p.source.report, vm, why_not))
            p.source.in_use -= vm.char_handles


def _place(p: _Planning, vm: VmUsage, vc_vm: VcVm | None) -> str | None:
    """Add a migration of `vm` to the best target and return None; else say why not."""
    why = _why_not_movable(p, vm, vc_vm)
    best: tuple[float, str] | None = None
    for name, load in p.targets.items():
        host = p.inventory.host(name)
        if why is None and host is not None and _fits(p, host, load, vm, vc_vm):
            after = load.percent(vm.char_handles)
            best = min(best, (after, name)) if best else (after, name)
    if best is None:
        return why or (f"{vm.name}: no host in the cluster offers its vGPU profile with room "
                       f"under {p.thresholds.warning_percent:.0f}%.")
    _add_migration(p, vm, best[1])
    return None


def _why_not_movable(p: _Planning, vm: VmUsage, vc_vm: VcVm | None) -> str | None:
    if vc_vm is None:
        return f"{vm.name}: vCenter does not know this VM (by BIOS UUID or name)."
    if vc_vm.vgpu_profiles and not p.inventory.hotmigrate_enabled:
        return (f"{vm.name}: live migration of vGPU VMs is off in vCenter "
                "(vgpu.hotmigrate.enabled).")
    if vc_vm.vgpu_profiles and not vc_vm.migrate_supported:
        return f"{vm.name}: its vGPU profile does not support live migration."
    return None


def _fits(p: _Planning, host: VcHost, load: _Load, vm: VmUsage, vc_vm: VcVm | None) -> bool:
    if not host.connected or host.in_maintenance or vc_vm is None:
        return False
    if not set(vc_vm.vgpu_profiles) <= set(host.vgpu_profiles):
        return False
    return load.percent(vm.char_handles) < p.thresholds.warning_percent


def _add_migration(p: _Planning, vm: VmUsage, target: str) -> None:
    src, dst = p.source, p.targets[target]
    before_src, before_dst = src.percent(), dst.percent()
    src.in_use -= vm.char_handles
    dst.in_use += vm.char_handles
    p.steps.append(Step(
        StepKind.MIGRATE, src.report.host, vm=vm.name, vm_uuid=vm.uuid, target=target,
        handles=vm.char_handles, world_id=vm.world_id,
        reason=f"{vm.name} holds {vm.char_handles:,} handles; {target} offers its vGPU "
               "profile and has room.",
        effect=f"{src.report.host}: {before_src:.0f}% → {src.percent():.0f}%; "
               f"{target}: {before_dst:.0f}% → {dst.percent():.0f}%",
    ))


def _reboot(p: _Planning, reason: str) -> None:
    host = p.source.report.host
    p.steps.append(Step(StepKind.REBOOT, host, reason=reason,
                        effect=f"{host} enters maintenance mode, reboots, comes back with "
                               f"Runtime {AIO_HANDLES_FIXED:,}, and leaves maintenance mode."))
