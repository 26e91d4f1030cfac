"""Collectors: run the fixed command lines on a host through the transport, parse, report."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.ack_first import my_turn
from bot.errors import AioBotError, CommandFailed, HostKeyChanged, HostKeyUnknown
from bot.esx import compound
from bot.esx.kernel import find_aio_setting
from bot.esx.logs import parse_hostd_starts
from bot.esx.logsummary import parse_vmkernel_reduced
from bot.esx.lsof import parse_reduced
from bot.esx.records import FdsWarningSummary
from bot.esx.report import RECENT, HostReport, build_report
from bot.esx.transport import Transport
from bot.esx.version import parse_version
from bot.esx.vmlist import parse_vm_list
from bot.inventory import HostEntry

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RawRead:
    """What the one-exec read of a host brought back, before parsing (a replica that read
    a host for another stores this; `report_from_read` parses it anywhere)."""

    nonce: int
    at: datetime
    stdout: str
    stderr: str
    bytes_received: int


async def read_host(transport: Transport, host: HostEntry, *, now: datetime) -> RawRead:
    nonce = compound.new_nonce()
    line = compound.command_line(compound.parts(now - RECENT), nonce)
    out = await transport.run(host, line, check=False)
    return RawRead(nonce, now, out.stdout, out.stderr, out.bytes_received)


def report_from_read(host: HostEntry, raw: RawRead) -> HostReport:
    part_list = compound.parts(raw.at - RECENT)
    outputs = compound.split_output(part_list, raw.nonce, raw.stdout, raw.stderr)
    return report_from_parts(host, outputs, now=raw.at, bytes_received=raw.bytes_received)


async def collect_host(
    transport: Transport, host: HostEntry, *, now: datetime | None = None
) -> HostReport:
    """The full report for one host (version, limit, per-VM handles, recent events), read
    in one SSH exec (`bot.esx.compound`)."""
    now = now or datetime.now(UTC)
    raw = await read_host(transport, host, now=now)
    await my_turn()  # parsing can wait for Slack's acks (bot.ack_first)
    return report_from_read(host, raw)


def report_from_parts(host: HostEntry, outputs: list[compound.PartOutput], *, now: datetime,
                      bytes_received: int) -> HostReport:
    """The report from the compound read's parts. A required part that failed fails the
    host (`CommandFailed` naming that part's command); any other is noted on the report."""
    by_name = {o.part.name: o for o in outputs}
    for o in outputs:
        if o.part.required and (not o.ok or _lsof_silent_failure(o)):
            raise CommandFailed(host.name, o.part.command,
                                -1 if o.status is None else o.status,
                                o.stderr.strip() or o.why())
    unread = tuple(f"{o.part.name}: {o.why()}" for o in outputs
                   if not o.part.required and _failed(o))
    for note in unread:
        log.info("read of %s: %s", host.name, note)
    kernel, vmk, hostd = by_name["kernel"], by_name["vmkernel"], by_name["hostd"]
    fds, dumps = (parse_vmkernel_reduced(vmk.stdout) if vmk.ok
                  else (FdsWarningSummary(), []))
    report = build_report(
        host.name,
        cluster=host.cluster,
        version=parse_version(by_name["version"].stdout),
        setting=find_aio_setting(kernel.stdout) if kernel.ok else None,
        vms=parse_vm_list(by_name["vms"].stdout),
        lsof=parse_reduced(by_name["lsof"].stdout),
        fds=fds,
        hostd_events=dumps + (parse_hostd_starts(hostd.stdout.splitlines())
                              if not hostd.cut else []),
        now=now,
        bytes_received=bytes_received,
    )
    return dataclasses.replace(report, unread=unread) if unread else report


def _lsof_silent_failure(o: compound.PartOutput) -> bool:
    """`vmkvsitools lsof | awk` exits with awk's status: a vmkvsitools that failed shows as
    no line read and its complaint on stderr."""
    return o.part.name == "lsof" and bool(o.stderr.strip()) and o.stdout.split() == ["N", "0"]


def _failed(o: compound.PartOutput) -> bool:
    """Not usable, or it complained. The kernel list's silent non-zero status (a host
    without the setting) is an answer, no row, not a failure."""
    if o.part.name == "kernel" and o.status is not None and not o.cut and not o.stderr.strip():
        return False
    return not o.ok or bool(o.stderr.strip())


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
        return host_failure(host, err)


def host_failure(host: HostEntry, err: AioBotError) -> HostFailure:
    """The failure a scan lists for `host`, from the error that stopped its read."""
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
