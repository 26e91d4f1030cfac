"""What commands return: data, no formatting. Front ends render these."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.assess import Assessment
from bot.esx.collect import HostFailure
from bot.esx.report import HostReport, VmUsage
from bot.history.summary import SummaryResult as SummaryResult  # built by the engine
from bot.remediation.plan import Plan
from bot.remediation.service import Outcome
from bot.store.api import AuditEntry, Request


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


@dataclass(frozen=True)
class HelpEntry:
    name: str
    syntax: str
    summary: str
    details: str = ""


@dataclass(frozen=True)
class HelpResult:
    entries: list[HelpEntry]
    topic: str | None = None




@dataclass(frozen=True)
class PlanResult:
    """A proposed change, stored as a request waiting for approval."""

    request: Request
    plan: Plan


@dataclass(frozen=True)
class OutcomeResult:
    """How an approved request ended (or why it was refused)."""

    outcome: Outcome


@dataclass(frozen=True)
class RequestResult:
    """A request after a rejection or cancellation."""

    request: Request


@dataclass(frozen=True)
class AuditResult:
    host: str | None
    requests: list[Request]
    entries: list[AuditEntry]


Result = (TopResult | CheckResult | ScanResult | HelpResult | PlanResult | OutcomeResult
          | RequestResult | AuditResult | SummaryResult)
