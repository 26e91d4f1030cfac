"""migrate: vMotion a VM to a host of the same cluster, then check where it is and that the
source no longer runs it."""

from __future__ import annotations

from bot.errors import PreconditionFailed, StepFailed, VCenterError
from bot.remediation.executors.base import Executors, Say
from bot.remediation.identity import proven_vm
from bot.remediation.plan import Step
from bot.vsphere.api import VcVm


async def find_vm(step: Step, ex: Executors) -> VcVm:
    """The VM as vCenter sees it now, proven to be the one proposed: the host's structured VM
    list and vCenter (by BIOS UUID) agree on its name, UUID and world (`identity`)."""
    return await proven_vm(step, ex.transport, ex.inventory.get(step.host), ex.vcenter)


async def check(step: Step, ex: Executors) -> None:
    vm = await find_vm(step, ex)
    if (vm.host or "").lower() != step.host.lower():
        raise PreconditionFailed(f"{step.vm} is no longer on {step.host} (it is on "
                                 f"{vm.host or 'no host'}).")
    if vm.power_state != "poweredOn":
        raise PreconditionFailed(f"{step.vm} is {vm.power_state}, not running.")
    assert step.target is not None
    inventory = await ex.vcenter.inventory()
    target = inventory.host(step.target)
    if target is None or not target.connected or target.in_maintenance:
        raise PreconditionFailed(f"{step.target} cannot take VMs now (disconnected, in "
                                 "maintenance mode, or unknown to vCenter).")
    if not set(vm.vgpu_profiles) <= set(target.vgpu_profiles):
        raise PreconditionFailed(f"{step.target} does not offer {', '.join(vm.vgpu_profiles)}.")
    report = await ex.report(step.target)
    after = 100.0 * (report.in_use + step.handles) / report.limit.runtime
    if after >= ex.thresholds.warning_percent:
        raise PreconditionFailed(f"{step.target} no longer has room: it would reach "
                                 f"{after:.0f}% with {step.vm}.")


async def run(step: Step, ex: Executors, say: Say) -> str:
    vm = await find_vm(step, ex)
    assert step.target is not None
    if ex.dry_run:
        return f"Dry run: would migrate {step.vm} from {step.host} to {step.target}."
    await say(f"Migrating {step.vm} from {step.host} to {step.target}…")
    try:
        moved = await ex.vcenter.relocate(vm, step.target, deadline=ex.deadline())
    except VCenterError as err:
        raise StepFailed(f"Migrating {step.vm} failed: {err} It should still be running on "
                         f"{step.host}.") from None
    if (moved.host or "").lower() != step.target.lower():
        raise StepFailed(f"vCenter says {step.vm} is on {moved.host} after the migration, not "
                         f"{step.target}.")
    source = await ex.report(step.host)
    if any(v.uuid == step.vm_uuid for v in source.vms):
        raise StepFailed(f"{step.vm} is on {step.target} per vCenter but {step.host} still "
                         "lists it.")
    return (f"{step.vm} now runs on {step.target}; {step.host} is at "
            f"{source.percent_used:.0f}% ({source.in_use:,} of {source.limit.runtime:,}).")
