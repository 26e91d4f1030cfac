"""What a report built from captured files says about the captures, for the text and the JSON
views: the window of its log counts, what was not captured, the lines not used, and which
files a support bundle held."""

from __future__ import annotations

from typing import Any

from bot import messages
from bot.esx.commandlines import KERNEL_AIO, LSOF_FULL
from bot.esx.report import HostReport


def limit_text(report: HostReport) -> str:
    """The limit as the table's usage line shows it."""
    if not report.limit.captured:
        return f"{report.limit.runtime:,} (default; setting not captured)"
    return f"{report.limit.runtime:,}"


def capture_lines(report: HostReport) -> list[str]:
    """Extra lines for the table view (none for a host scanned over SSH)."""
    lines = []
    if not report.lsof_captured:
        lines.append(messages.not_captured("AIO handles in use", LSOF_FULL))
    if not report.limit.captured:
        lines.append(messages.not_captured("FDSNumAIOHandles", KERNEL_AIO))
    found = [c.kind for c in report.captures if c.path]
    missing = [c.kind for c in report.captures if not c.path]
    if report.captures:
        lines.append(f"Bundle: found {', '.join(dict.fromkeys(found)) or 'nothing'}; "
                     f"not found: {', '.join(missing) or 'nothing'}")
    if report.input_warnings_total:
        first = [(w.file, w.line, w.why) for w in report.input_warnings]
        lines.append(messages.lines_skipped(report.input_warnings_total, first))
    return lines


def capture_dict(report: HostReport) -> dict[str, Any]:
    """Extra keys for the JSON view."""
    window = report.window
    return {
        "window": {
            "start": window.start.isoformat() if window.start else None,
            "end": window.end.isoformat() if window.end else None,
            "label": window.label,
        },
        "setting_captured": report.limit.captured,
        "lsof_captured": report.lsof_captured,
        "input_warnings": [
            {"file": w.file, "line": w.line, "text": w.text, "why": w.why}
            for w in report.input_warnings
        ],
        "input_warnings_total": report.input_warnings_total,
        "captures": [{"kind": c.kind, "path": c.path} for c in report.captures],
    }
