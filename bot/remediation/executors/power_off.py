"""power-off: shut the guest down (or power off hard when the request says so), then check
that it is off and the host no longer runs it."""

from __future__ import annotations

from bot.errors import PreconditionFailed, StepFailed, VCenterError
from bot.remediation.executors.base import Executors, Say
from bot.remediation.executors.migrate import find_vm
from bot.remediation.plan import Step


async def check(step: Step, ex: Executors) -> None:
    vm = await find_vm(step, ex)
    if (vm.host or "").lower() != step.host.lower():
        raise PreconditionFailed(f"{step.vm} is no longer on {step.host}.")
    if vm.power_state != "poweredOn":
        raise PreconditionFailed(f"{step.vm} is already {vm.power_state}.")


async def run(step: Step, ex: Executors, say: Say) -> str:
    vm = await find_vm(step, ex)
    how = "power off" if step.hard else "shut down"
    if ex.dry_run:
        return f"Dry run: would {how} {step.vm} on {step.host}."
    await say(f"{how.capitalize()} {step.vm} on {step.host}…")
    try:
        if step.hard:
            after = await ex.vcenter.power_off(vm, deadline=ex.deadline())
        else:
            after = await ex.vcenter.shutdown_guest(vm, deadline=ex.deadline())
    except VCenterError as err:
        raise StepFailed(f"Could not {how} {step.vm}: {err} It may still be running on "
                         f"{step.host}.") from None
    if after.power_state != "poweredOff":
        raise StepFailed(f"{step.vm} is {after.power_state} after the {how}.")
    source = await ex.report(step.host)
    return f"{step.vm} is off; {step.host} is at {source.percent_used:.0f}%."
