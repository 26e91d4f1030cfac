"""raise-limit: `esxcli system settings kernel set -s FDSNumAIOHandles -v 65536`, then check
that Configured shows 65536 (Runtime follows at the next reboot)."""

from __future__ import annotations

from bot.errors import PreconditionFailed, StepFailed
from bot.esx import commandlines as cl
from bot.esx.kernel import find_aio_setting
from bot.remediation.executors.base import Executors, Say
from bot.remediation.plan import Step


async def check(step: Step, ex: Executors) -> None:
    report = await ex.report(step.host)
    if not report.fix.available:
        raise PreconditionFailed(f"The fix does not apply to {step.host}: {report.fix.reason}")
    if (report.limit.configured or 0) >= cl.AIO_HANDLES_FIXED:
        raise PreconditionFailed(
            f"FDSNumAIOHandles is already {report.limit.configured:,} on {step.host}; "
            "nothing to raise.")


async def run(step: Step, ex: Executors, say: Say) -> str:
    command = cl.kernel_set_aio(cl.AIO_HANDLES_FIXED)
    host = ex.inventory.get(step.host)
    if ex.dry_run:
        return f"Dry run: would run `{command}` on {step.host}."
    await say(f"Setting FDSNumAIOHandles to {cl.AIO_HANDLES_FIXED:,} on {step.host}…")
    await ex.transport.run(host, command)
    out = await ex.transport.run(host, cl.KERNEL_AIO)
    setting = find_aio_setting(out.stdout)
    if setting is None or setting.configured != cl.AIO_HANDLES_FIXED:
        shown = setting.configured if setting else "no row"
        raise StepFailed(f"`kernel set` ran on {step.host} but Configured shows {shown}; "
                         "the host is unchanged as far as I can tell.")
    return (f"FDSNumAIOHandles on {step.host}: Configured {setting.configured:,}, Runtime "
            f"{setting.runtime:,} (a reboot applies it).")
