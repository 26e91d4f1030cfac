"""The soak: 200 commands on the demo fleet with random faults (hosts down, hanging, answering
garbage or cut short, SSH restarts, vMotion failing, vCenter slow, Slack failing or hanging
during a run), approvals pressed twice at once, and runs paused past their lease and taken
over by another replica. No command is lost, none crashes, none runs twice, every failure
is one line, a run taken over does nothing more, and no thread, file descriptor or SSH
connection outlives the run. bench/soak.py runs 1,000."""

from __future__ import annotations

import sys
import threading
import traceback

from tests.fault_helpers import FAULTS, PAUSE, run_soak


async def test_200_commands_with_random_faults_leak_nothing() -> None:
    report = await run_soak(200, seed=6)
    assert report.commands == 200
    assert report.crashes == [] and report.long_messages == []
    assert report.lost == 0 and report.double_executions == 0
    assert report.takeovers >= 1 and report.after_takeover == 0, report
    assert set(report.faults) == {*FAULTS, PAUSE}, report.faults  # every kind was injected
    assert sum(v for k, v in report.faults.items() if k != "none") >= 50
    assert report.outcomes.get("answered", 0) >= 50, report.outcomes
    assert report.outcomes.get("approved", 0) >= 1, report.outcomes
    assert report.peak_connections <= 8  # one cached connection per host at most
    assert report.before is not None and report.after is not None
    new = sorted(set(report.after.threads) - set(report.before.threads))
    assert report.leaked() == {"threads": 0, "fds": 0, "connections": 0}, (
        new, report.after, where_they_are(new))


def where_they_are(names: list[str]) -> dict[str, str]:
    """The innermost frames of the named threads: where a leaked thread waits."""
    frames = sys._current_frames()
    found = {}
    for thread in threading.enumerate():
        if thread.name in names and thread.ident in frames:
            stack = traceback.extract_stack(frames[thread.ident])[-6:]
            found[thread.name] = f"{type(thread).__name__}: " + " <- ".join(
                f"{f.name}@{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(stack))
    return found
