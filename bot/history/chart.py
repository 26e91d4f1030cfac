"""The managers' chart: handles in use as % of the runtime limit, per host, over a period,
with the warning and critical thresholds. A PNG (matplotlib, Agg; imported only when a chart
is drawn, so the bot starts without it).

At most `max_hosts` lines (the riskiest: highest peak in the period, then latest reading);
the subtitle says how many were left out."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.assess import Thresholds
from bot.history.records import Snapshot

MAX_HOSTS = 12
WIDTH_IN, HEIGHT_IN, DPI = 11.0, 5.6, 110
# Okabe-Ito + a few distinct extras: readable, colour-blind friendly, 12 entries.
COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
           "#8C564B", "#7F7F7F", "#BCBD22", "#1F3B73", "#F0027F")
STYLES = ("-", "-", "-", "-", "-", "-", "--", "--", "--", "--", "--", "--")


@dataclass(frozen=True)
class ChartPeriod:
    """What the chart covers: `label` for the title (e.g. "last 7 days") and its length."""

    label: str
    length: timedelta


@dataclass(frozen=True)
class ChartSelection:
    hosts: list[str]  # drawn, riskiest first
    omitted: list[str]


def select_hosts(snapshots: Sequence[Snapshot], max_hosts: int = MAX_HOSTS) -> ChartSelection:
    """The hosts to draw: highest peak % in the period first, then latest %, then name."""
    peak: dict[str, float] = {}
    latest: dict[str, Snapshot] = {}
    for s in snapshots:
        peak[s.host] = max(peak.get(s.host, 0.0), s.percent_used)
        if s.host not in latest or s.at >= latest[s.host].at:
            latest[s.host] = s
    ranked = sorted(peak, key=lambda h: (-peak[h], -latest[h].percent_used, h))
    return ChartSelection(ranked[:max_hosts], ranked[max_hosts:])


def render_chart(snapshots: Sequence[Snapshot], thresholds: Thresholds, period: ChartPeriod,
                 *, until: datetime | None = None, note: str | None = None,
                 max_hosts: int = MAX_HOSTS) -> bytes:
    """The PNG bytes. `until` ends the x axis (default: the newest snapshot); `note` is added
    to the subtitle (e.g. "simulated history")."""
    from matplotlib import dates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    chosen = select_hosts(snapshots, max_hosts)
    end = until or max((s.at for s in snapshots), default=None)
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax: Any = fig.add_subplot()  # typed loosely: matplotlib's stubs reject datetimes
    mdates: Any = dates
    series = _series(snapshots, set(chosen.hosts))
    top = max([100.0] + [p for pts in series.values() for _, p in pts])
    ax.set_ylim(0, min(top * 1.06, 200))
    _bands(ax, thresholds, top * 1.06)
    for i, host in enumerate(chosen.hosts):
        pts = series[host]
        xs = [t for t, _ in pts]
        ys = [p for _, p in pts]
        marker = "o" if len(pts) < 3 else None
        ax.plot(xs, ys, color=COLOURS[i % len(COLOURS)], linestyle=STYLES[i % len(STYLES)],
                linewidth=1.8, marker=marker, markersize=5,
                label=f"{host}  {ys[-1]:.0f}% now, peak {max(ys):.0f}%")
    if end is not None:
        ax.set_xlim(end - period.length, end + period.length * 0.01)
    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("AIO handles in use, % of runtime limit")
    ax.grid(True, axis="both", color="#DDDDDD", linewidth=0.7)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.suptitle(f"FDS AIO handles in use per host, {period.label}", fontsize=14,
                 fontweight="bold")
    ax.set_title(_subtitle(chosen, thresholds, note), fontsize=10, color="#444444")
    if chosen.hosts:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9,
                  title="host (riskiest first)", title_fontsize=9, alignment="left")
    else:
        ax.text(0.5, 0.5, "No snapshots in this period", transform=ax.transAxes,
                ha="center", va="center", fontsize=12, color="#666666")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _series(snapshots: Sequence[Snapshot],
            hosts: set[str]) -> dict[str, list[tuple[datetime, float]]]:
    out: dict[str, list[tuple[datetime, float]]] = {h: [] for h in hosts}
    for s in sorted(snapshots, key=lambda x: x.at):
        if s.host in hosts:
            out[s.host].append((s.at, s.percent_used))
    return out


def _bands(ax: Any, thresholds: Thresholds, top: float) -> None:
    w, c = thresholds.warning_percent, thresholds.critical_percent
    ax.axhspan(w, c, color="#FFB000", alpha=0.10, linewidth=0)
    ax.axhspan(c, max(top, 100.0), color="#DC3220", alpha=0.08, linewidth=0)
    ax.axhline(w, color="#E69F00", linestyle=(0, (5, 3)), linewidth=1.4)
    ax.axhline(c, color="#DC3220", linestyle=(0, (5, 3)), linewidth=1.4)
    ax.axhline(100, color="#333333", linestyle="-", linewidth=1.0)
    for y, text, colour in ((w, f"warning {w:g}%", "#B07800"),
                            (c, f"critical {c:g}%", "#DC3220"),
                            (100, "limit 100%", "#333333")):
        ax.annotate(text, xy=(0.0, y), xycoords=("axes fraction", "data"),
                    xytext=(4, 2), textcoords="offset points", fontsize=8, color=colour,
                    va="bottom", ha="left")


def _subtitle(chosen: ChartSelection, thresholds: Thresholds, note: str | None) -> str:
    total = len(chosen.hosts) + len(chosen.omitted)
    parts = [f"{total} host{'s' if total != 1 else ''}"]
    if chosen.omitted:
        parts = [f"the {len(chosen.hosts)} riskiest of {total} hosts shown, "
                 f"{len(chosen.omitted)} omitted"]
    parts.append(f"dashed lines: warning {thresholds.warning_percent:g}%, "
                 f"critical {thresholds.critical_percent:g}%")
    if note:
        parts.append(note)
    return " · ".join(parts)
