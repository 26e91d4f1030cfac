"""Collectors: run the fixed command lines on a host through the transport, parse, report."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.errors import AioBotError, HostKeyChanged, HostKeyUnknown
from bot.esx import commandlines as cl
from bot.esx.kernel import find_aio_setting
from bot.esx.logs import parse_hostd_starts
from bot.esx.logsummary import parse_vmkernel_reduced
from bot.esx.lsof import parse_reduced
from bot.esx.records import FdsWarningSummary, HostdEvent
from bot.esx.report import RECENT, HostReport, build_report
from bot.esx.transport import CommandResult, Transport
from bot.esx.version import parse_version
from bot.esx.vmlist import parse_vm_list
from bot.inventory import HostEntry

log = logging.getLogger(__name__)


async def collect_host(
    transport: Transport, host: HostEntry, *, now: datetime | None = None
) -> HostReport:
    """The full report for one host: version, limit, per-VM handles, recent events."""
    now = now or datetime.now(UTC)
    version_out = await transport.run(host, cl.VERSION)
    kernel_out = await transport.run(host, cl.KERNEL_AIO, check=False)
    vms_out = await transport.run(host, cl.VM_LIST)
    lsof_out = await transport.run(host, cl.LSOF_REDUCED)
    vmk_out = await transport.run(host, cl.vmkernel_events(now - RECENT), check=False)
    hostd_out = await transport.run(host, cl.HOSTD_STARTS, check=False)
    received = sum(r.bytes_received for r in
                   (version_out, kernel_out, vms_out, lsof_out, vmk_out, hostd_out))
    fds, dumps = _vmkernel(vmk_out)
    return build_report(
        host.name,
        cluster=host.cluster,
        version=parse_version(version_out.stdout),
        setting=find_aio_setting(kernel_out.stdout) if kernel_out.exit_status == 0 else None,
        vms=parse_vm_list(vms_out.stdout),
        lsof=parse_reduced(lsof_out.stdout),
        fds=fds,
        hostd_events=dumps + parse_hostd_starts(hostd_out.stdout.splitlines()),
        now=now,
        bytes_received=received,
    )


def _vmkernel(out: CommandResult) -> tuple[FdsWarningSummary, list[HostdEvent]]:
    """A host without a readable vmkernel.log has no evidence to show, not an error."""
    if out.exit_status != 0:
        log.info("no vmkernel.log on %s: %s", out.host, out.stderr.strip()[:200])
        return FdsWarningSummary(), []
    return parse_vmkernel_reduced(out.stdout)


@dataclass(frozen=True, slots=True)
class HostFailure:
    """A host that could not be scanned, and the sentence that says why; for a host key
    that is not on record (`new`), differs from it (`CHANGED`) or is revoked, the status
    and the SHA256 fingerprint the host offered."""

    host: str
    cluster: str
    error: str
    key_status: str | None = None
    fingerprint: str | None = None


ScanOutcome = HostReport | HostFailure


def scan_concurrency(max_parallel: int) -> int:
    """Hosts a fleet scan works on at once: a quarter of the SSH slots stay free, so `top` and
    `check` asked during a long scan do not queue behind it."""
    return max(1, max_parallel - max(1, max_parallel // 4))
Progress = Callable[[int, int, ScanOutcome], Awaitable[None]]


async def scan_hosts(
    transport: Transport,
    hosts: Sequence[HostEntry],
    *,
    concurrency: int = 32,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> list[ScanOutcome]:
    """Collect every host, at most `concurrency` at once; a failing host does not stop the
    scan. `progress(done, total, outcome)` is awaited after each host answers."""
    gate = asyncio.Semaphore(max(1, concurrency))
    done = 0

    async def one(host: HostEntry) -> ScanOutcome:
        nonlocal done
        async with gate:
            outcome = await _collect_or_failure(transport, host, now)
        done += 1
        if progress is not None:
            await progress(done, len(hosts), outcome)
        return outcome

    return list(await asyncio.gather(*(one(h) for h in hosts)))


async def _collect_or_failure(
    transport: Transport, host: HostEntry, now: datetime | None
) -> ScanOutcome:
    try:
        return await collect_host(transport, host, now=now)
    except AioBotError as err:
        log.info("scan of %s failed: %s", host.name, err)
        status = _key_status(err)
        return HostFailure(host.name, host.cluster, str(err), status,
                           getattr(err, "fingerprint", None) if status else None)


def _key_status(err: AioBotError) -> str | None:
    from bot.esx.known_hosts import HostKeyRevoked

    if isinstance(err, HostKeyRevoked):
        return "REVOKED"
    if isinstance(err, HostKeyChanged):
        return "CHANGED"
    if isinstance(err, HostKeyUnknown):
        return "new"
    return None
