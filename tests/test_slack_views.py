"""Block Kit views: within Slack's limits at every size, long tables spill into a CSV file."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from bot.assess import Thresholds, assess
from bot.esx.collect import HostFailure
from bot.esx.records import EsxVersion, FdsWarning, FdsWarningSummary, FixVerdict
from bot.esx.report import HandleLimit, HostReport, VmUsage
from bot.slack.limits import check_message
from bot.slack.views.help import error_message, help_message
from bot.slack.views.scan import progress_message, scan_message
from bot.slack.views.top import MOVE_VM, POWER_OFF, PROPOSE_FIX, REFRESH, top_message
from commands.catalog import build_registry
from commands.registry import CommandUsageError
from commands.results import HelpResult, ScanResult, ScanRow, TopResult

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def report(name: str = "esx01", vms: int = 3, in_use: int = 31_000,
           warnings: int = 0) -> HostReport:
    rows = [VmUsage(i, f"vm<{i}>&co" if i == 1 else f"vm-{i:03d}", 1000 + i, 2000 + i, None,
                    500 - i, 510 - i) for i in range(1, vms + 1)]
    return HostReport(
        host=name, cluster="gpu-a", version=EsxVersion("VMware ESXi", "8.0.3", 25067014, "3"),
        limit=HandleLimit(None, 32768, 32768), in_use=in_use, vms=rows,
        fix=FixVerdict(False, "8.0 U3i or later is needed."),
        fds=FdsWarningSummary(warnings, None, FdsWarning(NOW, 9, "WARNING: FDS: No free handles")
                              if warnings else None),
        collected_at=NOW)


def buttons(blocks: list[dict[str, object]]) -> list[str]:
    return [str(e["action_id"]) for b in blocks if b["type"] == "actions"
            for e in b["elements"]]  # type: ignore[attr-defined]


def test_top_view_fits_and_escapes() -> None:
    r = report(warnings=3)
    message = top_message(TopResult(r, assess(r, Thresholds()), 20), "U1", "top esx01")
    assert check_message(message.blocks, message.text) == []
    assert buttons(message.blocks) == [REFRESH, PROPOSE_FIX, MOVE_VM, POWER_OFF]
    texts = repr(message.blocks)
    assert "vm<1>&co" in texts  # raw_text table cells are not mrkdwn
    assert "3* FDS 'No free handles' warnings" in texts and message.attachment is None


def test_long_top_table_spills_into_csv() -> None:
    r = report(vms=250)
    message = top_message(TopResult(r, assess(r, Thresholds()), 1000), "U1", "top esx01")
    assert check_message(message.blocks, message.text) == []
    [table] = [b for b in message.blocks if b["type"] == "table"]
    assert len(table["rows"]) == 100
    assert message.attachment is not None
    rows = list(csv.reader(io.StringIO(message.attachment.content)))
    assert len(rows) == 251 and rows[1][1] == "vm<1>&co"


def test_quiet_host_has_no_propose_fix() -> None:
    r = report(in_use=100)
    message = top_message(TopResult(r, assess(r, Thresholds()), 20), "U1", "top esx01")
    assert buttons(message.blocks) == [REFRESH, MOVE_VM, POWER_OFF]  # the modals stay


def test_scan_of_many_hosts_with_failures() -> None:
    rows = [ScanRow(rep, assess(rep, Thresholds()))
            for rep in (report(f"esx{i:03d}", in_use=100 * i) for i in range(300))]
    failures = [HostFailure(f"bad{i}", "c", f"I could not reach bad{i}.") for i in range(15)]
    message = scan_message(ScanResult("all", rows, failures), 12.5, "U1", "scan")
    assert check_message(message.blocks, message.text) == []
    assert message.attachment is not None and message.attachment.content.count("\n") == 301
    assert "… and 5 more" in repr(message.blocks)
    progress = progress_message("all", 10, 315, 1, "U1", "scan")
    assert check_message(progress.blocks, progress.text) == []


def test_help_and_errors() -> None:
    registry = build_registry()
    message = help_message(HelpResult([c.help_entry() for c in registry]))
    assert check_message(message.blocks, message.text) == []
    assert len(message.blocks) == 2 + len(list(registry))
    try:
        registry.match("top")
    except CommandUsageError as err:
        error = error_message(err.problem, err.command)
    assert "`top` needs a host." in error.text
    assert "/aio top &lt;host&gt; [limit=&lt;n&gt;]" in repr(error.blocks)
