"""The state of one simulated ESXi host: plain dataclasses, (de)serialised as JSON.

`state.json` in a host directory is the source of truth; everything the simulated tools
print is rendered from it (`bot.sim.render`). Nothing here touches the file system.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

AIO_SETTING = "FDSNumAIOHandles"
AIO_DEFAULT = 32768
FORMAT_VERSION = 1


class SimError(Exception):
    """A simulated host refuses an operation; `str(err)` is the esxcli-like sentence."""


@dataclass
class KernelAio:
    """The `FDSNumAIOHandles` kernel setting (absent on builds without the fix)."""

    configured: int = AIO_DEFAULT
    runtime: int = AIO_DEFAULT
    default: int = AIO_DEFAULT


@dataclass
class HandleGroup:
    """`count` open handles of one type on one path, as `vmkvsitools lsof` lists them."""

    type: str
    count: int
    path: str


@dataclass
class Cartel:
    """A non-VM process (hostd, vpxa, ...) and the handles it holds."""

    cartel_id: int
    world_name: str
    groups: list[HandleGroup] = field(default_factory=list)


@dataclass
class Vm:
    """A virtual machine registered on the host. Ids and handles matter only when powered on.

    `vmgfx_handles` are CHAR handles of world `vmx` on a vmgfx device (what KB 408376
    counts); `char_handles` are its other CHAR handles; `file_handles` its FILE handles.
    """

    name: str
    uuid: str
    config_file: str
    vgpu_profile: str
    migrate_supported: bool = True
    powered_on: bool = True
    world_id: int = 0
    cartel_id: int = 0
    vmgfx_handles: int = 0
    char_handles: int = 0
    file_handles: int = 0
    gpu_index: int = 0


@dataclass
class VmkLine:
    """A vmkernel.log line; the prefix is rendered per ESXi version."""

    ts: str
    cpu: int
    world: int
    message: str
    warning: bool = False


@dataclass
class HostdLine:
    """A hostd.log line; `start=True` renders hostd's start marker (message unused)."""

    ts: str
    pid: int
    message: str = ""
    start: bool = False


@dataclass
class HostState:
    """Everything one simulated host knows about itself."""

    name: str
    cluster: str
    version: str
    build: int
    update: str
    patch: str
    kernel_aio: KernelAio | None = None
    maintenance: bool = False
    gpu_model: str = ""
    gpu_count: int = 0
    gpu_profiles: list[str] = field(default_factory=list)
    vms: list[Vm] = field(default_factory=list)
    cartels: list[Cartel] = field(default_factory=list)
    vmkernel_log: list[VmkLine] = field(default_factory=list)
    hostd_log: list[HostdLine] = field(default_factory=list)
    core_files: list[str] = field(default_factory=list)
    hostd_pid: int = 0
    next_id: int = 0
    offline_until: float | None = None
    reboot_seconds: float = 3.0
    boots: int = 1

    def __post_init__(self) -> None:
        if self.next_id == 0:
            self.next_id = first_world_id(self.version)

    @property
    def running_vms(self) -> list[Vm]:
        """Powered-on VMs, ordered by world id (the order `vm process list` prints)."""
        return sorted((v for v in self.vms if v.powered_on), key=lambda v: v.world_id)

    @property
    def vmgfx_in_use(self) -> int:
        """vmgfx handles held by running VMs (what KB 408376's pipeline sums to)."""
        return sum(v.vmgfx_handles for v in self.running_vms)

    @property
    def char_in_use(self) -> int:
        """Every CHAR line `vmkvsitools lsof` prints (VMs' vmgfx and other, system)."""
        system = sum(g.count for c in self.cartels for g in c.groups if g.type == "CHAR")
        return system + sum(v.vmgfx_handles + v.char_handles for v in self.running_vms)

    def find_vm(self, name: str) -> Vm:
        """The one VM with this display name; SimError when none or several match."""
        found = [v for v in self.vms if v.name == name]
        if len(found) != 1:
            what = "No" if not found else "More than one"
            raise SimError(f"{what} virtual machine named {name!r} on {self.name}")
        return found[0]

    def is_down(self, now: float) -> bool:
        """True while a reboot is in progress."""
        return self.offline_until is not None and now < self.offline_until


def first_world_id(version: str) -> int:
    """Where world/cartel ids start after boot: ~262144 on 7.0, ~2097152 on 8.0 and later."""
    return 262600 if version.startswith("7.") else 2098000


def allocate_ids(state: HostState) -> tuple[int, int]:
    """A fresh (world id, VMX cartel id) pair. The cartel is usually world - 1, but not
    always (a vSphere 8 capture has cartel 22541452, world 22541454)."""
    cartel = state.next_id
    world = cartel + (1, 1, 2, 1, 15, 1, 3)[cartel % 7]
    state.next_id = world + 5 + cartel % 29
    return world, cartel


def allocate_id(state: HostState) -> int:
    """A fresh id for a non-VM cartel or a hostd pid."""
    value = state.next_id
    state.next_id += 3 + value % 11
    return value


def iso_ts(moment: datetime | float) -> str:
    """ESXi log timestamp: `2025-06-01T12:00:00.810Z` (UTC, milliseconds)."""
    if isinstance(moment, float | int):
        moment = datetime.fromtimestamp(float(moment), UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def to_json(state: HostState) -> str:
    """Serialise (stable key order, so equal states give equal files)."""
    data = asdict(state)
    data["format"] = FORMAT_VERSION
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False)


def from_json(text: str) -> HostState:
    """Inverse of `to_json`."""
    data: dict[str, Any] = json.loads(text)
    data.pop("format", None)
    kernel = data.pop("kernel_aio")
    return HostState(
        kernel_aio=KernelAio(**kernel) if kernel is not None else None,
        vms=[Vm(**v) for v in data.pop("vms")],
        cartels=[_cartel(c) for c in data.pop("cartels")],
        vmkernel_log=[VmkLine(**x) for x in data.pop("vmkernel_log")],
        hostd_log=[HostdLine(**x) for x in data.pop("hostd_log")],
        **data,
    )


def _cartel(data: dict[str, Any]) -> Cartel:
    groups = [HandleGroup(**g) for g in data["groups"]]
    return Cartel(cartel_id=data["cartel_id"], world_name=data["world_name"], groups=groups)
