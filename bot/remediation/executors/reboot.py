"""reboot: maintenance mode through vCenter, `esxcli system shutdown reboot -r …`, wait for
the host to go down and come back, check that Runtime equals Configured, leave maintenance
mode. The plan's earlier steps have moved or powered off the vGPU VMs (DRS does not
evacuate them)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from bot.errors import HostError, PreconditionFailed, StepFailed, VCenterError
from bot.esx import commandlines as cl
from bot.esx.kernel import find_aio_setting
from bot.remediation.executors.base import Executors, Say
from bot.remediation.plan import Step


async def check(step: Step, ex: Executors) -> None:
    inventory = await ex.vcenter.inventory()
    if inventory.host(step.host) is None:
        raise PreconditionFailed(f"vCenter does not know {step.host}.")
    running = [vm.name for vm in inventory.vms_on(step.host) if vm.power_state == "poweredOn"]
    if running:
        shown = ", ".join(running[:5]) + (f" and {len(running) - 5} more" if len(running) > 5
                                          else "")
        raise PreconditionFailed(f"{step.host} still runs {len(running)} VM(s): {shown}. "
                                 "Move or power them off first.")


async def run(step: Step, ex: Executors, say: Say) -> str:
    if ex.dry_run:
        return (f"Dry run: would put {step.host} in maintenance mode, run `{cl.REBOOT}`, wait "
                "for it, and leave maintenance mode.")
    host = ex.inventory.get(step.host)
    # said before, not between: nothing stands between maintenance mode and the reboot
    await say(f"Putting {step.host} in maintenance mode, then rebooting it…")
    await _vcenter(ex.vcenter.enter_maintenance(step.host, deadline=ex.deadline()),
                   f"{step.host} did not enter maintenance mode")
    await _expect_maintenance(ex, step.host, "Enabled")
    await ex.transport.run(host, cl.REBOOT)
    await _wait_for_return(ex, step)
    setting = find_aio_setting((await ex.transport.run(host, cl.KERNEL_AIO)).stdout)
    if setting is not None and setting.runtime != setting.configured:
        raise StepFailed(f"{step.host} came back with Runtime {setting.runtime:,}, not "
                         f"{setting.configured:,}; it is still in maintenance mode.")
    await say(f"{step.host} is back; leaving maintenance mode…")
    await _vcenter(ex.vcenter.exit_maintenance(step.host, deadline=ex.deadline()),
                   f"{step.host} rebooted but did not leave maintenance mode")
    await _expect_maintenance(ex, step.host, "Disabled")
    runtime = f"Runtime {setting.runtime:,}" if setting else "no FDSNumAIOHandles setting"
    return f"{step.host} rebooted and is out of maintenance mode ({runtime})."


async def _vcenter(call: Awaitable[None], failure: str) -> None:
    try:
        await call
    except VCenterError as err:
        raise StepFailed(f"{failure}: {err}") from None


async def _expect_maintenance(ex: Executors, name: str, wanted: str) -> None:
    out = await ex.transport.run(ex.inventory.get(name), cl.MAINTENANCE_GET)
    if out.stdout.strip() != wanted:
        raise StepFailed(f"{name} reports maintenance mode {out.stdout.strip()!r}, expected "
                         f"{wanted!r}.")


async def _wait_for_return(ex: Executors, step: Step) -> None:
    """Poll until the host has been seen down and answers again, within the deadline."""
    host = ex.inventory.get(step.host)
    loop = asyncio.get_running_loop()
    give_up = loop.time() + ex.reboot_timeout
    seen_down = False
    while loop.time() < give_up:
        await ex.sleep(ex.poll_interval)
        try:
            await ex.transport.run(host, cl.MAINTENANCE_GET, timeout=30)
        except HostError:
            seen_down = True
            continue
        if seen_down:
            return
    state = "did not come back" if seen_down else "never went down"
    raise StepFailed(f"{step.host} {state} within {ex.reboot_timeout:.0f} s; it is in "
                     "maintenance mode.")
