"""The deterministic demo fleet (and a lighter synthetic fleet for benchmarks).

Demo fleet, two clusters, 107 powered-on vGPU VMs (seeded: the same every run; log
timestamps are relative to `now`):

    host       cluster        ESXi                       FDSNumAIOHandles    CHAR in use
    host01     gpu-cluster-a  8.0.3 U3h 25067014         no row (migrate)    31,500 + FDS
                                                                             warnings, hostd
                                                                             crash + restart
    host02     gpu-cluster-a  8.0.3 U3i 25205845         32768 / 32768       19,000
    host03     gpu-cluster-a  8.0.3 U3i 25205845         65536 / 32768       26,500 (reboot
                                                                             pending)
    host04     gpu-cluster-a  8.0.3 U3i 25205845         65536 / 65536       3,800 (room)
    host05     gpu-cluster-b  9.0.0 24755229             no row              27,800
    host06     gpu-cluster-b  7.0.3 24784741 (7.0 U3w)   no row              14,000
    host07     gpu-cluster-a  8.0.3 U3i 25205845         32768 / 32768       2,600 (room)
    host08     gpu-cluster-b  8.0.3 U3i 25205845         32768 / 32768       4,200 (room)

"CHAR in use" counts every CHAR line of `vmkvsitools lsof` (vmgfx and other devices, VMs
and system cartels); host04 and host07 offer host01's A100 profiles, host08 host05's L40S.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.sim.hostdir import create_host_dir
from bot.sim.state import (
    Cartel,
    HandleGroup,
    HostdLine,
    HostState,
    KernelAio,
    Vm,
    VmkLine,
    allocate_id,
    allocate_ids,
    first_world_id,
    iso_ts,
)

DEMO_SEED = 408376
HOUR = 3600.0
DAY = 24 * HOUR


@dataclass(frozen=True)
class Release:
    version: str
    build: int
    update: str
    patch: str


@dataclass(frozen=True)
class Gpu:
    model: str
    count: int
    profiles: tuple[str, ...]


U3H = Release("8.0.3", 25067014, "3", "90")
U3I = Release("8.0.3", 25205845, "3", "95")
ESXI_900 = Release("9.0.0", 24755229, "0", "0")
ESXI_703W = Release("7.0.3", 24784741, "3", "110")
A100 = Gpu("NVIDIA A100-PCIE-40GB", 4, tuple(
    f"grid_a100-{s}c" for s in (4, 5, 8, 10, 20, 40)))
L40S = Gpu("NVIDIA L40S", 4, tuple(f"grid_l40s-{s}q" for s in (4, 6, 8, 12, 16, 24, 48)))
A40 = Gpu("NVIDIA A40", 4, tuple(f"grid_a40-{s}q" for s in (4, 6, 8, 12, 16, 24, 48)))


@dataclass(frozen=True)
class HostSpec:
    """What to generate for one host."""

    name: str
    cluster: str
    release: Release
    kernel: tuple[int, int] | None
    gpu: Gpu
    vms: tuple[tuple[str, str], ...]
    char_target: int
    fds_recent: int = 0
    fds_old: int = 0
    hostd_crash: bool = False
    powered_off: tuple[tuple[str, str], ...] = ()
    no_migrate: frozenset[str] = frozenset()


def _named(fmt: str, numbers: range, profile: str) -> tuple[tuple[str, str], ...]:
    return tuple((fmt.format(n), profile) for n in numbers)


def _chain(*parts: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple(vm for part in parts for vm in part)


def demo_specs() -> list[HostSpec]:
    """The demo fleet's hosts (see the module docstring)."""
    a4, a8, a10 = "grid_a100-4c", "grid_a100-8c", "grid_a100-10c"
    return [
        HostSpec("host01", "gpu-cluster-a", U3H, None, A100,
                 _chain(_named("ml-train-a100-{:02d}", range(1, 7), a10),
                        _named("render-node-{:02d}", range(1, 5), a8),
                        _named("vdi-eng-{:03d}", range(10, 20), a4),
                        (("harbor&nexus", a4), ("QA Win11 Desktop", a4))),
                 31500, fds_recent=650, fds_old=40, hostd_crash=True,
                 no_migrate=frozenset({"ml-train-a100-03"})),
        HostSpec("host02", "gpu-cluster-a", U3I, (32768, 32768), A100,
                 _chain(_named("vdi-eng-{:03d}", range(20, 35), a4),
                        _named("ml-infer-a100-{:02d}", range(1, 4), a8)),
                 19000, powered_off=(("vdi-eng-spare-01", a4),)),
        HostSpec("host03", "gpu-cluster-a", U3I, (65536, 32768), A100,
                 _named("vdi-eng-{:03d}", range(35, 55), a4), 26500, fds_old=20),
        HostSpec("host04", "gpu-cluster-a", U3I, (65536, 65536), A100,
                 _chain(_named("vdi-eng-{:03d}", range(55, 59), a4),
                        (("ml-train-a100-07", a10), ("render-node-05", a8))), 3800),
        HostSpec("host05", "gpu-cluster-b", ESXI_900, None, L40S,
                 _named("cad-ws-{:03d}", range(101, 117), "grid_l40s-8q"),
                 27800, fds_recent=30),
        HostSpec("host06", "gpu-cluster-b", ESXI_703W, None, A40,
                 _named("render-node-{:02d}", range(10, 22), "grid_a40-8q"), 14000,
                 powered_off=(("render-node-old-01", "grid_a40-8q"),)),
        HostSpec("host07", "gpu-cluster-a", U3I, (32768, 32768), A100,
                 _named("vdi-eng-{:03d}", range(59, 64), a4), 2600),
        HostSpec("host08", "gpu-cluster-b", U3I, (32768, 32768), L40S,
                 _chain(_named("cad-ws-{:03d}", range(117, 123), "grid_l40s-8q"),
                        (("cad-ws-review", "grid_l40s-12q"), ("vdi-design-01", "grid_l40s-4q"))),
                 4200),
    ]


def demo_fleet_states(now: datetime) -> list[HostState]:
    """The demo fleet, log timestamps relative to `now`."""
    rng = random.Random(DEMO_SEED)
    cluster_ds = {"gpu-cluster-a": _ds_uuid(rng), "gpu-cluster-b": _ds_uuid(rng)}
    t0 = _epoch(now)
    return [build_host(spec, rng, t0, cluster_ds[spec.cluster]) for spec in demo_specs()]


def synthetic_fleet_states(n_hosts: int, vms_per_host: int, seed: int) -> list[HostState]:
    """A large, lighter fleet for benchmarks: `n_hosts` hosts in clusters of 16."""
    rng = random.Random(seed)
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp()
    releases = [(U3H, None), (U3I, (32768, 32768)), (U3I, (65536, 32768)),
                (U3I, (65536, 65536)), (ESXI_900, None), (ESXI_703W, None)]
    states = []
    for i in range(n_hosts):
        release, kernel = rng.choice(releases)
        gpu = A40 if release is ESXI_703W else rng.choice((A100, L40S))
        profile = gpu.profiles[rng.randrange(3)]
        name = f"esx-sim-{i + 1:04d}"
        vms = _named(name + "-vm{:03d}", range(1, vms_per_host + 1), profile)
        spec = HostSpec(name, f"sim-cluster-{i // 16 + 1:02d}", release, kernel, gpu, vms,
                        char_target=vms_per_host * rng.randrange(150, 450) + 60,
                        fds_recent=rng.choice((0, 0, 0, 20)))
        states.append(build_host(spec, rng, t0, _ds_uuid(rng)))
    return states


def build_fleet_dirs(root: Path | str, states: list[HostState]) -> dict[str, Path]:
    """One host directory per state under `root`; returns name -> directory."""
    return {s.name: create_host_dir(Path(root) / s.name, s) for s in states}


def build_host(spec: HostSpec, rng: random.Random, t0: float, datastore: str) -> HostState:
    """Generate one host's state from its spec."""
    r = spec.release
    state = HostState(spec.name, spec.cluster, r.version, r.build, r.update, r.patch,
                      kernel_aio=KernelAio(*spec.kernel) if spec.kernel else None,
                      gpu_model=spec.gpu.model, gpu_count=spec.gpu.count,
                      gpu_profiles=list(spec.gpu.profiles))
    boot = t0 - DAY * rng.uniform(20, 60)
    old_hostd = allocate_id(state)
    state.cartels = _system_cartels(state, rng)
    for name, profile in spec.vms:
        state.vms.append(_vm(state, rng, name, profile, datastore, name not in spec.no_migrate))
    for name, profile in spec.powered_off:
        vm = _vm(state, rng, name, profile, datastore, True)
        vm.powered_on, vm.world_id, vm.cartel_id = False, 0, 0
        state.vms.append(vm)
    _spread_handles(state, rng, spec.char_target)
    _write_logs(state, spec, rng, boot, t0, old_hostd)
    return state


def _epoch(now: datetime) -> float:
    return (now if now.tzinfo else now.replace(tzinfo=UTC)).timestamp()


def _ds_uuid(rng: random.Random) -> str:
    return f"{rng.getrandbits(32):08x}-{rng.getrandbits(32):08x}-" \
           f"{rng.getrandbits(16):04x}-{rng.getrandbits(48):012x}"


def _bios_uuid(rng: random.Random) -> str:
    head = "564d" if rng.random() < 0.6 else f"42{rng.getrandbits(8):02x}"
    return head + f"{rng.getrandbits(112):028x}"


def _vm(state: HostState, rng: random.Random, name: str, profile: str, datastore: str,
        migrate: bool) -> Vm:
    world, cartel = allocate_ids(state)
    return Vm(name=name, uuid=_bios_uuid(rng),
              config_file=f"/vmfs/volumes/{datastore}/{name}/{name}.vmx",
              vgpu_profile=profile, migrate_supported=migrate, world_id=world,
              cartel_id=cartel, char_handles=rng.randrange(8, 25),
              file_handles=rng.randrange(12, 41),
              gpu_index=len(state.vms) % max(1, state.gpu_count))


def _system_cartels(state: HostState, rng: random.Random) -> list[Cartel]:
    def g(kind: str, lo: int, hi: int, path: str) -> HandleGroup:
        return HandleGroup(kind, rng.randrange(lo, hi), path)

    ipmi = "/vmfs/devices/char/vmkdriver/ipmi0"
    table = [
        ("vmsyslogd", [g("FILE", 8, 16, "/var/log/vmkernel.log"),
                       g("SOCKET", 1, 3, "UNIX /var/run/vmsyslogd.sock")]),
        ("hostd", [g("FILE", 40, 80, "/var/log/hostd.log"),
                   g("CHAR", 4, 12, ipmi), g("PIPE", 2, 6, "pipe"),
                   g("SOCKET", 10, 30, "TCP 127.0.0.1:8307"),
                   g("FILE", 10, 20, "/etc/vmware/hostd/vmInventory.xml")]),
        ("vpxa", [g("FILE", 10, 30, "/var/log/vpxa.log"),
                  g("SOCKET", 5, 15, "TCP 0.0.0.0:902")]),
        ("rhttpproxy", [g("FILE", 4, 10, "/var/log/rhttpproxy.log"),
                        g("SOCKET", 20, 40, "TCP 0.0.0.0:443")]),
        ("sfcbd", [g("CHAR", 2, 6, ipmi), g("FILE", 3, 8, "/var/log/syslog.log")]),
        ("sh", [g("CHAR", 3, 4, "/vmfs/devices/char/vmkdriver/tty0"),
                g("DIR", 1, 2, "/")]),
    ]
    cartels = [Cartel(allocate_id(state), world, groups) for world, groups in table]
    state.hostd_pid = next(c.cartel_id for c in cartels if c.world_name == "hostd")
    return cartels


def _profile_weight(profile: str) -> float:
    size = re.search(r"-(\d+)[a-z]$", profile)
    return 0.6 + (int(size.group(1)) if size else 4) / 10


def _spread_handles(state: HostState, rng: random.Random, char_target: int) -> None:
    """Give running VMs vmgfx handles so the host's CHAR lines total `char_target`."""
    running = state.running_vms
    fixed = sum(g.count for c in state.cartels for g in c.groups if g.type == "CHAR")
    fixed += sum(v.char_handles for v in running)
    budget = max(0, char_target - fixed)
    weights = [_profile_weight(v.vgpu_profile) * rng.uniform(0.7, 1.3) for v in running]
    total = sum(weights) or 1.0
    for vm, weight in zip(running, weights, strict=True):
        vm.vmgfx_handles = int(budget * weight / total)
    if running:
        running[-1].vmgfx_handles += budget - sum(v.vmgfx_handles for v in running)


def _fds_line(state: HostState, rng: random.Random, at: float) -> VmkLine:
    worlds = [v.world_id for v in state.running_vms] or [state.hostd_pid]
    handle = rng.randrange(0x430000000000, 0x43FFFFFFFFFF)
    return VmkLine(iso_ts(at), rng.randrange(64), rng.choice(worlds),
                   f"WARNING: FDS: 1390: Could not initialize AIO handles 0x{handle:x}: "
                   "No free handles", warning=True)


def _write_logs(state: HostState, spec: HostSpec, rng: random.Random, boot: float,
                t0: float, old_hostd: int) -> None:
    base = first_world_id(state.version) - 848
    vmk = [VmkLine(iso_ts(boot), 0, base, "Boot Successful"),
           VmkLine(iso_ts(boot + 31.2), 2, base + 640, "NVIDIA: vGPU Manager loaded")]
    vmk += [VmkLine(iso_ts(t0 - rng.uniform(0, 20 * DAY)), rng.randrange(64), base + 700,
                    "NetPort: 1632: disabled port 0x2000004") for _ in range(5)]
    old_start = 25 * HOUR + 40 * 60
    vmk += [_fds_line(state, rng, t0 - old_start - rng.uniform(0, 2 * HOUR))
            for _ in range(spec.fds_old)]
    vmk += [_fds_line(state, rng, t0 - rng.uniform(60, 6 * HOUR)) for _ in range(spec.fds_recent)]
    first_pid = old_hostd if spec.hostd_crash else state.hostd_pid
    hostd = [HostdLine(iso_ts(boot + 52.4), first_pid, start=True)]
    if spec.hostd_crash:
        vmk += _crash(state, rng, t0 - 3 * HOUR - 600, old_hostd, hostd)
    state.vmkernel_log = sorted(vmk, key=lambda x: x.ts)
    state.hostd_log = sorted(hostd, key=lambda x: x.ts)


def _crash(state: HostState, rng: random.Random, at: float, old_hostd: int,
           hostd: list[HostdLine]) -> list[VmkLine]:
    """hostd dies of handle exhaustion, dumps core, and is restarted with a new pid."""
    core = "hostd-worker-zdump.000"
    state.core_files.append(core)
    hostd.append(HostdLine(iso_ts(at - 5.1), old_hostd,
                           "[Originator@6876 sub=Hostsvc.HostHardwareHealth] "
                           "Failed to open /dev/ipmi0: No free handles"))
    hostd.append(HostdLine(iso_ts(at + 42.7), state.hostd_pid, start=True))
    return [VmkLine(iso_ts(at), rng.randrange(64), old_hostd + 7,
                    f"UserDump: 3102: Dumping cartel {old_hostd} (from world {old_hostd + 7}) "
                    f"to file /var/core/{core} ...")]
