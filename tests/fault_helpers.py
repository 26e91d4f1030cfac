"""Shared by the fuzz, fault and soak tests: which command lines a simulated host may ever
receive, and counts of the process's threads, file descriptors and SSH connections."""

from __future__ import annotations

import asyncio
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from bot.demo import DemoFleet
from bot.errors import AioBotError
from bot.esx import commandlines as cl
from bot.esx import send_guard
from bot.esx.compound import is_full_read
from bot.esx.ssh import SshSettings, SshTransport
from bot.esx.transport import CommandResult, Transport
from bot.inventory import HostEntry
from bot.remediation.executors.base import Executors
from bot.remediation.service import Remediation
from bot.sim.files import write_atomic
from bot.sim.sshd import SimSshFleet
from commands.catalog import build_registry
from commands.context import Context
from commands.results import OutcomeResult, PlanResult

REGISTRY = build_registry()

FIXED_LINES = frozenset({
    cl.LSOF_REDUCED, cl.LSOF_FULL, cl.VERSION, cl.VERSION_VL, cl.VM_LIST, cl.VM_LIST_XML,
    cl.KERNEL_AIO, cl.MAINTENANCE_GET, cl.HOSTD_STARTS, cl.REBOOT, cl.KB_PIPELINE,
    cl.maintenance_set(True), cl.maintenance_set(False),
})
_KERNEL_SET = re.compile(
    re.escape("esxcli system settings kernel set -s FDSNumAIOHandles -v ") + r"[1-9][0-9]{0,6}"
)
_VMKERNEL = re.compile(
    re.escape("awk -v since=") + r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d "
    + re.escape(f"'{cl.VMKERNEL_AWK}' /var/log/vmkernel.log")
)


def is_fixed_line(line: str) -> bool:
    """A command line aio-bot itself builds: a constant, or a pattern of checked values."""
    return (line in FIXED_LINES or bool(_KERNEL_SET.fullmatch(line) or _VMKERNEL.fullmatch(line))
            or is_full_read(line))


def received_lines(fleet: SimSshFleet) -> list[tuple[str, str]]:
    return [(name, line) for name, s in fleet.servers.items() for line in s.received]


def assert_only_fixed_lines(fleet: SimSshFleet) -> int:
    """Every line every simulated host received is one of ours; returns how many there were."""
    lines = received_lines(fleet)
    strangers = [(host, line) for host, line in lines if not is_fixed_line(line)]
    assert strangers == [], strangers[:5]
    return len(lines)


def received_count(fleet: SimSshFleet) -> int:
    return sum(len(s.received) for s in fleet.servers.values())


# --- leak accounting ------------------------------------------------------------------------

# threads that come and go on their own: the asyncio default executor's idle workers
# (`asyncio_N`), and the simulated hosts' per-command workers, which end with the command
IGNORED_THREADS = ("asyncio_", "ThreadPoolExecutor-")


@dataclass(frozen=True)
class Usage:
    threads: tuple[str, ...]
    fds: int
    connections: int

    def describe(self) -> str:
        return f"{len(self.threads)} threads, {self.fds} fds, {self.connections} connections"


def thread_names(ignore: Iterable[str] = IGNORED_THREADS) -> tuple[str, ...]:
    prefixes = tuple(ignore)
    return tuple(sorted(t.name for t in threading.enumerate() if not t.name.startswith(prefixes)))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def usage(connections: int) -> Usage:
    return Usage(thread_names(), open_fds(), connections)


# --- the soak: many commands with random faults -----------------------------------------------

GARBAGE = "#!/bin/sh\necho 'Segmentation fault <<>> %%%'\nhead -c 300 /dev/zero | tr '\\0' '~'\n"
FAULTS = ("none", "down", "hang", "garbage", "cut", "restart", "relocate-fails", "vc-slow",
          "slack-hiccup")
PAUSE = "pause-runner"  # run alone, every PAUSE_EVERY batches (it freezes the whole process)
PAUSE_EVERY = 10
PAUSE_LEASE = 1.0  # seconds: the lease of the run that is paused past it


@dataclass
class SoakReport:
    commands: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    lost: int = 0  # a command that neither answered nor failed in time
    crashes: list[str] = field(default_factory=list)  # an exception that is no AioBotError
    long_messages: list[str] = field(default_factory=list)  # a failure not said in one line
    double_executions: int = 0
    takeovers: int = 0  # runs paused past their lease and taken over by another "replica"
    after_takeover: int = 0  # commands or audit rows from a run after it was taken over
    pauses: list[str] = field(default_factory=list)  # what each paused run did, and when
    lines_received: int = 0
    peak_connections: int = 0
    before: Usage | None = None
    after: Usage | None = None

    def count(self, table: dict[str, int], key: str) -> None:
        table[key] = table.get(key, 0) + 1

    def leaked(self) -> dict[str, int]:
        assert self.before is not None and self.after is not None
        return {
            "threads": len(set(self.after.threads) - set(self.before.threads))
            + max(0, len(self.after.threads) - len(self.before.threads)
                  - len(set(self.after.threads) - set(self.before.threads))),
            "fds": max(0, self.after.fds - self.before.fds),
            "connections": self.after.connections,
        }


async def settle(before: Usage, connections: Callable[[], int], timeout: float = 10.0) -> Usage:
    """Usage once closing threads have ended (paramiko's end within a second or so)."""
    deadline = time.monotonic() + timeout
    while True:
        now = usage(connections())
        done = len(now.threads) <= len(before.threads) and now.fds <= before.fds
        if done or time.monotonic() > deadline:
            return now
        await asyncio.sleep(0.1)


class _Faults:
    """Puts one fault on the fleet and takes it off again. A host's `bin/esxcli` is replaced
    whole (`write_atomic`): commands of other batches may be running it."""

    def __init__(self, demo: DemoFleet) -> None:
        self.demo = demo
        self.esxcli = {n: (d / "bin" / "esxcli").read_text() for n, d in demo.host_dirs.items()}

    def apply(self, fault: str, host: str) -> None:
        server = self.demo.fleet.servers[host]
        vcenter = self.demo.vcenter
        assert vcenter is not None
        if fault == "down":
            server.down = True
            server.drop_connections()
        elif fault == "hang":
            server.hang_commands = True
        elif fault == "garbage":
            write_atomic(self.demo.host_dirs[host] / "bin" / "esxcli", GARBAGE, 0o755)
        elif fault == "cut":
            server.cut_output_at = 100
        elif fault == "restart":
            server.drop_connections()
        elif fault == "relocate-fails":
            vcenter.fail_next_relocate = "The target host is in maintenance mode."
        elif fault == "vc-slow":
            vcenter.slow = 0.6  # past the executors' 0.5 s task deadline

    def clear(self, host: str) -> None:
        server = self.demo.fleet.servers[host]
        server.down = server.hang_commands = False
        server.cut_output_at = None
        write_atomic(self.demo.host_dirs[host] / "bin" / "esxcli", self.esxcli[host], 0o755)
        assert self.demo.vcenter is not None
        self.demo.vcenter.fail_next_relocate = None
        self.demo.vcenter.slow = 0.0


def _soak_words(rng: random.Random, host: str, vm: str) -> str:
    return rng.choice([
        f"top {host}", f"top {host} limit=5", f"check {host}", f"raise-limit {host}",
        f"migrate {vm}", "help", "help top", f"audit {host}", "scan gpu-cluster-b",
        f"top {host}; reboot", "top $(id)", f"check ../{host}", "approve 999999",
    ])


async def run_soak(n: int, seed: int = 1, fault_rate: float = 0.4, command_timeout: float = 0.5,
                   batch: int = 6) -> SoakReport:
    """`n` commands on a fresh demo fleet with random faults, `batch` at once (each on its own
    host); every failure must be an AioBotError said in one line, every command must end,
    every approval run at most once, and the process must end with the threads and
    descriptors it started with."""
    rng = random.Random(seed)
    report = SoakReport()
    report.before = usage(0)
    async with DemoFleet() as demo:
        assert demo.remediation is not None and demo.vcenter is not None
        transport = SshTransport(SshSettings(
            known_hosts=demo.fleet.known_hosts_path, password=demo.password,
            command_timeout=command_timeout, max_parallel=8))
        executors = Executors(transport, demo.vcenter, demo.inventory, poll_interval=0.2,
                              reboot_timeout=10.0, task_timeout=0.5)
        remediation = replace(demo.remediation, executors=executors)
        faults = _Faults(demo)
        hosts = [h.name for h in demo.inventory]
        vms = [v.name for v in (await demo.vcenter.inventory()).vms
               if v.power_state == "poweredOn"]
        try:
            for number, start in enumerate(range(0, n, batch)):
                chosen = rng.sample(hosts, min(batch, n - start))
                await asyncio.gather(*(
                    _one(demo, transport, remediation, faults, rng, host, vms, fault_rate,
                         report) for host in chosen))
                if number % PAUSE_EVERY == PAUSE_EVERY - 1:
                    await _pause_past_lease(demo, transport, remediation, rng, vms, report)
            report.peak_connections = max(report.peak_connections,
                                          transport.stats()["connections_open"])
            trail = await remediation.store.audit_trail(limit=100_000)
            starts = Counter((e.request_id, e.detail.get("step")) for e in trail
                             if e.event == "step-started")
            report.double_executions = sum(1 for c in starts.values() if c > 1)
        finally:
            await transport.close()
        report.lines_received = assert_only_fixed_lines(demo.fleet)
    report.after = await settle(report.before, lambda: transport.stats()["connections_open"])
    return report


async def _one(demo: DemoFleet, transport: SshTransport, remediation: Remediation,
               faults: _Faults, rng: random.Random, host: str, vms: list[str],
               fault_rate: float, report: SoakReport) -> None:
    fault = rng.choice(FAULTS[1:]) if rng.random() < fault_rate else "none"
    report.count(report.faults, fault)
    faults.apply(fault, host)
    ctx = Context(demo.inventory, transport, caller=rng.choice(ASKERS), vcenter=demo.vcenter,
                  remediation=remediation)
    words = (f"migrate {rng.choice(vms)}" if fault == "slack-hiccup"
             else _soak_words(rng, host, rng.choice(vms)))
    try:
        result = await asyncio.wait_for(REGISTRY.run(words, ctx), 30)
        report.count(report.outcomes, "answered")
        if isinstance(result, PlanResult) and fault == "slack-hiccup":
            await _approve_while_slack_fails(demo, remediation, transport, result, report)
        elif isinstance(result, PlanResult) and rng.random() < 0.3:
            await _approve_twice(demo, remediation, transport, result, report)
        elif isinstance(result, PlanResult):  # not approved: withdrawn, so it blocks nothing
            await REGISTRY.run(f"reject {result.request.id}", ctx)
    except TimeoutError:
        report.lost += 1
    except AioBotError as err:
        report.count(report.outcomes, type(err).__name__)
        if "\n" in str(err) or not str(err):
            report.long_messages.append(str(err))
    except Exception as err:  # the soak counts what must never happen
        report.crashes.append(f"{words}: {type(err).__name__}: {err}")
    finally:
        faults.clear(host)
        report.commands += 1
        report.peak_connections = max(report.peak_connections,
                                      transport.stats()["connections_open"])


async def _approve_twice(demo: DemoFleet, remediation: Remediation, transport: SshTransport,
                         plan: PlanResult, report: SoakReport) -> None:
    """Two approvers press at once: one runs it, the other is refused."""
    ctxs = [Context(demo.inventory, transport, caller=who, vcenter=demo.vcenter,
                    remediation=remediation) for who in ("@alice", "@bob")]
    done = await asyncio.wait_for(asyncio.gather(
        *(REGISTRY.run(f"approve {plan.request.id}", c) for c in ctxs),
        return_exceptions=True), 60)
    for item in done:
        name = "approved" if isinstance(item, OutcomeResult) else type(item).__name__
        report.count(report.outcomes, name)
        if isinstance(item, BaseException) and not isinstance(item, AioBotError):
            report.crashes.append(f"approve: {type(item).__name__}: {item}")


ASKERS = ("@you", "@carol", "@dave")  # proposers; @alice and @bob approve


class HostileNarrator:
    """Slack on a bad day, as the runner sees it: every other call raises (a dropped
    connection), the others hang as a 429 with Retry-After 120 would."""

    def __init__(self) -> None:
        self.calls = 0

    async def progress(self, request: object, text: str) -> None:
        await self._fail()

    async def changed(self, request: object, note: str | None = None) -> None:
        await self._fail()

    async def _fail(self) -> None:
        self.calls += 1
        if self.calls % 2:
            raise ConnectionResetError("Slack dropped the connection")
        await asyncio.sleep(120)


async def _approve_while_slack_fails(demo: DemoFleet, remediation: Remediation,
                                     transport: SshTransport, plan: PlanResult,
                                     report: SoakReport) -> None:
    """Every narrator call fails or hangs: the run still ends, each step once, in time."""
    ctx = Context(demo.inventory, transport, caller="@alice", vcenter=demo.vcenter,
                  remediation=remediation, narrator=HostileNarrator())
    try:
        result = await asyncio.wait_for(REGISTRY.run(f"approve {plan.request.id}", ctx), 60)
        report.count(report.outcomes, "approved" if isinstance(result, OutcomeResult)
                     else type(result).__name__)
    except TimeoutError:
        report.lost += 1
    except AioBotError as err:
        report.count(report.outcomes, type(err).__name__)


class _SendLog:
    """The paused run's transport, inside its fence: when each command was asked for, when
    the fence had last been proven, and when the command passed (or failed) the send guard
    in the SSH worker thread right before the send (time.monotonic())."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.sends: list[tuple[float, float | None, float, str, str]] = []

    async def run(self, host: HostEntry, command: str, *, timeout: float | None = None,
                  check: bool = True) -> CommandResult:
        guard = send_guard.current()
        asked = time.monotonic()
        if guard is None:
            return await self.inner.run(host, command, timeout=timeout, check=check)
        fence = getattr(guard, "__self__", None)

        def logged() -> None:
            proven: float | None = getattr(fence, "proven_at", None)
            now = time.monotonic()
            try:
                guard()
            except BaseException as err:
                self.sends.append((asked, proven, now, type(err).__name__, command))
                raise
            self.sends.append((asked, proven, now, f"SENT to {host.name}", command))

        with send_guard.guarded(logged):
            return await self.inner.run(host, command, timeout=timeout, check=check)

    async def close(self) -> None:
        await self.inner.close()

    def describe(self, t0: float) -> str:
        return "; ".join(
            f"asked {asked - t0:+.3f} proof {'?' if proven is None else f'{proven - t0:+.3f}'}"
            f" guard {at - t0:+.3f} {what} {command[:24]!r}"
            for asked, proven, at, what, command in self.sends)


@dataclass
class _Takeover:
    """What the other replica's sweeper did, and when (time.monotonic())."""

    started: float = 0.0
    finished: float = 0.0
    ended: int = 0  # requests it ended as interrupted
    received: dict[str, int] = field(default_factory=dict)  # lines per host once it had


async def _pause_past_lease(demo: DemoFleet, transport: SshTransport,
                            remediation: Remediation, rng: random.Random, vms: list[str],
                            report: SoakReport) -> None:
    """A run whose whole process freezes (its event loop blocked, as under SIGSTOP or a long
    GC pause) past its lease while another replica's sweeper takes the request over: after
    the takeover not one command reaches a host and not one audit row is written by it.
    `report.pauses` says, for each, what was sent and written when (seconds since the pause
    began)."""
    report.count(report.faults, PAUSE)
    sends = _SendLog(transport)
    short = replace(remediation, lease_ttl=PAUSE_LEASE,
                    executors=replace(remediation.executors, transport=sends))
    asker = Context(demo.inventory, transport, caller="@you", vcenter=demo.vcenter,
                    remediation=short)
    try:
        plan = await REGISTRY.run(f"migrate {rng.choice(vms)}", asker)
    except AioBotError as err:
        report.count(report.outcomes, type(err).__name__)
        return
    assert isinstance(plan, PlanResult)
    approver = replace(asker, caller="@alice")
    running = asyncio.get_running_loop().create_task(
        REGISTRY.run(f"approve {plan.request.id}", approver))
    store = short.store
    while not running.done() and "step-started" not in [
            e.event for e in await store.audit_trail(request_id=plan.request.id)]:
        await asyncio.sleep(0.01)
    if running.done():  # refused (the VM moved, the host busy): nothing to pause
        await asyncio.gather(running, return_exceptions=True)
        return
    taken = _Takeover()
    other = threading.Thread(target=_take_over, args=(demo, short, taken), daemon=True)
    paused = time.monotonic()
    wall = short.clock()
    other.start()
    time.sleep(PAUSE_LEASE * 2.5)  # the pause: nothing of this process's loop runs
    resumed = time.monotonic()
    other.join()
    ended = await asyncio.gather(asyncio.wait_for(running, 60), return_exceptions=True)
    finished = time.monotonic()
    await asyncio.sleep(PAUSE_LEASE)  # time to misbehave, if it would
    report.takeovers += taken.ended
    trail = await store.audit_trail(request_id=plan.request.id)
    events = [e.event for e in trail]
    late_lines: list[tuple[str, str]] = []
    late_rows: list[str] = []
    if taken.ended:
        late_lines = [(name, line) for name, s in demo.fleet.servers.items()
                      for line in s.received[taken.received.get(name, 0):]]
        late_rows = events[events.index("interrupted") + 1:]
        report.after_takeover += len(late_lines) + len(late_rows)

    def rel(t: float) -> str:
        return f"{t - paused:+.3f}"

    rows = " ".join(f"{e.event}@{(e.at - wall).total_seconds():+.3f}" for e in trail)
    report.pauses.append(
        f"request #{plan.request.id} on {plan.request.host}: paused {rel(paused)}.."
        f"{rel(resumed)}; sweep {rel(taken.started)}..{rel(taken.finished)} ended "
        f"{taken.ended}; run ended {rel(finished)} ({type(ended[0]).__name__}); "
        f"AFTER THE TAKEOVER lines {late_lines} rows {late_rows}; "
        f"fenced sends [{sends.describe(paused)}]; audit rows [{rows}]")


def _take_over(demo: DemoFleet, remediation: Remediation, taken: _Takeover) -> None:
    """Another replica, in its own thread and event loop, on the same store file: once the
    paused run's lease has run out, its sweeper ends the request as interrupted."""
    from bot.store import open_store

    async def sweep() -> None:
        store = open_store(str(demo.root / "aio-bot.db"))
        try:
            replica = Remediation(store, remediation.executors, remediation.gate,
                                  holder="replica-b", lease_ttl=PAUSE_LEASE)
            taken.started = time.monotonic()
            ended = await replica.recover_interrupted()
            taken.finished = time.monotonic()
            taken.received = {name: len(s.received) for name, s in demo.fleet.servers.items()}
            taken.ended = len(ended)
        finally:
            await store.close()

    time.sleep(PAUSE_LEASE * 1.3)
    asyncio.run(sweep())
