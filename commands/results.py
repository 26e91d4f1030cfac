"""What commands return: data, no formatting. Front ends render these. The host results
(`top`, `check`, `scan`) live in `commands.host_results` and are re-exported here."""

from __future__ import annotations

from dataclasses import dataclass

from bot import messages
from bot.history.records import AlertRecord
from bot.history.silence import Silence
from bot.history.summary import SummaryResult as SummaryResult  # built by the engine
from bot.remediation.plan import Plan
from bot.remediation.runner import Outcome
from bot.store.api import AuditEntry, Request
from commands.host_results import CheckResult as CheckResult
from commands.host_results import InventoryResult as InventoryResult
from commands.host_results import ScanResult as ScanResult
from commands.host_results import ScanRow as ScanRow
from commands.host_results import TopResult as TopResult


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
class ConfirmResult:
    """`approve <id>` on a plan that interrupts guests: the plan, waiting for `confirm`."""

    request: Request
    plan: Plan
    approver: str


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


@dataclass(frozen=True)
class SilenceResult:
    """An incident after `acknowledge` or `snooze`; its message is shown again."""

    alert: AlertRecord
    action: str  # acknowledged | snoozed
    by: str
    span: str | None = None  # for snooze: 1h | 4h | resolved

    @property
    def silence(self) -> Silence:
        return Silence.of(self.alert)

    def sentence(self) -> str:
        if self.action == "acknowledged":
            return messages.acknowledged(self.alert.host, self.alert.id)
        until = "until it resolves" if self.span == "resolved" else f"for {self.span}"
        return messages.snoozed(self.alert.host, self.alert.id, until)


Result = (TopResult | CheckResult | ScanResult | HelpResult | PlanResult | ConfirmResult
          | OutcomeResult | RequestResult | AuditResult | SummaryResult | InventoryResult
          | SilenceResult)
