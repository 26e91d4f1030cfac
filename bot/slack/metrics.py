"""Prometheus text exposition, written by hand (no client library): commands by name and
outcome, ack latency, scan durations, SSH errors."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterator, Sequence

ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0)
SCAN_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class Histogram:
    def __init__(self, name: str, help_text: str, buckets: Sequence[float]) -> None:
        self.name = name
        self.help = help_text
        self.buckets = tuple(buckets)
        self.counts = [0] * (len(self.buckets) + 1)  # the last one is +Inf
        self.total = 0.0
        self.samples: list[float] = []  # kept (bounded) for percentiles in the bench

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value
        if len(self.samples) < 100_000:
            self.samples.append(value)

    def lines(self) -> Iterator[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        running = 0
        for bound, count in zip((*self.buckets, None), self.counts, strict=True):
            running += count
            le = "+Inf" if bound is None else _num(bound)
            yield f'{self.name}_bucket{{le="{le}"}} {running}'
        yield f"{self.name}_sum {_num(self.total)}"
        yield f"{self.name}_count {running}"


class Metrics:
    """Every figure the bot exports; one instance per process."""

    def __init__(self) -> None:
        self.commands: Counter[tuple[str, str]] = Counter()
        self.ssh_errors: Counter[str] = Counter()
        self.duplicates = 0
        self.ack = Histogram("aio_bot_ack_seconds",
                             "Time from a Slack request's arrival to its HTTP answer.", ACK_BUCKETS)
        self.scan = Histogram("aio_bot_scan_duration_seconds",
                              "Wall time of whole `scan` commands.", SCAN_BUCKETS)

    def command(self, name: str, outcome: str) -> None:
        self.commands[(name, outcome)] += 1

    def ssh_error(self, command: str, count: int = 1) -> None:
        self.ssh_errors[command] += count

    def render(self) -> str:
        lines = [
            "# HELP aio_bot_commands_total Commands run, by command and outcome.",
            "# TYPE aio_bot_commands_total counter",
            *(f'aio_bot_commands_total{{command="{_label(c)}",outcome="{o}"}} {n}'
              for (c, o), n in sorted(self.commands.items())),
            "# HELP aio_bot_ssh_errors_total Hosts that could not be read, by command.",
            "# TYPE aio_bot_ssh_errors_total counter",
            *(f'aio_bot_ssh_errors_total{{command="{_label(c)}"}} {n}'
              for c, n in sorted(self.ssh_errors.items())),
            "# HELP aio_bot_duplicate_deliveries_total Slack redeliveries answered once.",
            "# TYPE aio_bot_duplicate_deliveries_total counter",
            f"aio_bot_duplicate_deliveries_total {self.duplicates}",
            *self.ack.lines(),
            *self.scan.lines(),
        ]
        return "\n".join(lines) + "\n"


def _num(value: float) -> str:
    return repr(float(value))


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
