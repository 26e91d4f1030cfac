"""The results about hosts' handles: `top`, `check` and `scan`.

Apart from `commands.results` (which re-exports them) because the other results carry
remediation, history and store types: rendering one of these (`aio-bot analyze`) imports none
of that."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.assess import Assessment
from bot.esx.report import HostReport, VmUsage

if TYPE_CHECKING:  # an annotation only: bot.esx.collect imports asyncio
    from bot.esx.collect import HostFailure


@dataclass(frozen=True)
class TopResult:
    """`top`: a host's VMs ranked by handles held."""

    report: HostReport
    assessment: Assessment
    limit: int

    @property
    def shown(self) -> list[VmUsage]:
        return self.report.vms[: self.limit]


@dataclass(frozen=True)
class CheckResult:
    """`check`: a host's verdict and the recommended action."""

    report: HostReport
    assessment: Assessment


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
