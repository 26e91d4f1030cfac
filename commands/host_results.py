"""The results about hosts' handles: `top`, `check` and `scan`.

Apart from `commands.results` (which re-exports them) because the other results carry
remediation, history and store types: rendering one of these (`aio-bot analyze`) imports none
of that."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.assess import Assessment
from bot.esx.report import HostReport, VmUsage
from bot.inventory import HostEntry

if TYPE_CHECKING:  # an annotation only: bot.esx.collect imports asyncio
    from bot.esx.collect import HostFailure


@dataclass(frozen=True)
class VmFacts:
    """What vCenter says of one VM."""

    name: str  # vCenter's name (the views show esxcli's)
    power_state: str  # poweredOn, poweredOff, suspended
    vgpu_profiles: tuple[str, ...]


@dataclass(frozen=True)
class HostFacts:
    """What vCenter says of a host and its VMs, for `top`, `check` and the plan; the VMs by
    BIOS UUID (canonical 8-4-4-4-12, lower case), the key esxcli's list shares with it."""

    cluster: str | None
    in_maintenance: bool
    connected: bool
    vms: Mapping[str, VmFacts] = field(default_factory=dict)

    def vm(self, usage: VmUsage) -> VmFacts | None:
        """vCenter's facts of the VM esxcli listed (None: no UUID, or vCenter has none)."""
        if not usage.uuid:
            return None
        from bot.vsphere.api import bios_uuid_from_esxcli

        try:
            return self.vms.get(bios_uuid_from_esxcli(usage.uuid))
        except ValueError:
            return None


@dataclass(frozen=True)
class TopResult:
    """`top`: a host's VMs ranked by handles held; `vcenter`: what vCenter says of the host
    and its VMs (None without vCenter)."""

    report: HostReport
    assessment: Assessment
    limit: int
    vcenter: HostFacts | None = None

    @property
    def shown(self) -> list[VmUsage]:
        return self.report.vms[: self.limit]


@dataclass(frozen=True)
class CheckResult:
    """`check`: a host's verdict and the recommended action."""

    report: HostReport
    assessment: Assessment
    vcenter: HostFacts | None = None


@dataclass(frozen=True)
class ScanRow:
    report: HostReport
    assessment: Assessment


@dataclass(frozen=True)
class ScanResult:
    """`scan`: hosts ranked by % of their runtime limit in use; failures listed apart."""

    scope: str
    rows: list[ScanRow]
    failures: list[HostFailure] = field(default_factory=list)


@dataclass(frozen=True)
class InventoryResult:
    """`inventory [refresh]`: the hosts, where they come from and their state."""

    hosts: list[HostEntry]
    source: str  # file, vcenter, both
    refreshed_at: datetime | None  # last discovery in vCenter (None: a file's inventory)
    refreshed_now: bool = False  # `inventory refresh` asked for a discovery
    refreshable: bool = False  # discovered in vCenter (`refresh` does something)
