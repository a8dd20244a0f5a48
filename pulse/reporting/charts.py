"""Trend charts as SVG, drawn with matplotlib's object API (never pyplot in the server: it keeps global state).

Each chart has a <title> and <desc>, and the page shows the same numbers in a table beside it.

Points are drawn at the published figure, rounded once more here with the one rounding of published figures, so
no marker or line coordinate can be read back into a finer value (docs/ANONYMITY.md, "Precision").
"""

from __future__ import annotations

import io
import re
import textwrap
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from flask_babel import format_decimal
from flask_babel import gettext as _
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from pulse.domain.figures import Figures
from pulse.domain.stats import mean_interval, one_decimal, round_half_away

#: Colours that stay distinct in grey-scale print, with a marker each so colour is never the only signal.
STYLES = [("#1d4f91", "o", "-"), ("#b3261e", "s", "--"), ("#1e7b34", "^", "-."), ("#6b3fa0", "D", ":"),
          ("#8a5300", "v", "-"), ("#4a4f57", "P", "--")]
#: Black and greys, for print and the PDF (docs/ARCHITECTURE.md, "PDF"): marker and line style tell series apart.
MONO = [("#000000", "o", "-"), ("#505050", "s", "--"), ("#000000", "^", ":"), ("#505050", "D", "-."),
        ("#000000", "v", "--"), ("#505050", "P", ":")]
#: Characters per line of a legend entry: long question texts wrap instead of being cut off.
LEGEND_WIDTH = 70

_lock = threading.Lock()  # matplotlib's text layout is not thread-safe across figures


@dataclass(frozen=True)
class Series:
    label: str
    #: One value per round; None where the figure is hidden.
    values: Sequence[float | None]
    #: One 95 % interval per round (low, high), None where there is none; empty: no intervals at all.
    intervals: Sequence[tuple[float, float] | None] = ()
    #: Per round, what is published instead of a plotted value (a bound, "≤ 1,5"), None elsewhere; empty: none.
    #: Written as text, never plotted: a point would show more than the bound.
    notes: Sequence[str | None] = ()

    def note(self, position: int) -> str | None:
        return self.notes[position] if position < len(self.notes) and self.values[position] is None else None


def series_of(label: str, figures: Sequence[Figures]) -> Series:
    """A series from published figures: exact means only (a bound such as "≤ 1,5" is left out like a hidden figure,
    since a point would show more than the bound — docs/ANONYMITY.md, "Censored figures"), each with its interval
    from the published mean, SD and n."""
    values = [f.mean if f.exact else None for f in figures]
    intervals = [mean_interval(f.mean, f.sd, f.n) if f.exact and f.mean is not None else None for f in figures]
    return Series(label, values, intervals)


def describe(series: Sequence[Series], rounds: Sequence[str], hidden_label: str) -> str:
    """The chart's numbers in words, for its alternative text: each series, round by round."""
    parts = []
    for item in series:
        points: list[str] = []
        for position, (number, value) in enumerate(zip(rounds, item.values, strict=True)):
            note = item.note(position)
            shown = (note or hidden_label) if value is None else format_decimal(one_decimal(value), "0.0")
            points.append(f"{_('round %(n)s', n=number)}: {shown}")
        parts.append(f"{item.label} — {', '.join(points)}.")
    return " ".join(parts)


def line_chart(title: str, description: str, rounds: Sequence[str], series: Sequence[Series], *,
               y_range: tuple[float, float], y_label: str, decimals: int = 1, x_label: str = "",
               hidden_label: str = "", monochrome: bool = False, decimal_mark: str = ".") -> bytes:
    """An accessible SVG line chart; values (and interval ends) are plotted at ``decimals`` places.

    Each point has its 95 % interval as a vertical bar where the series has intervals. A hidden round breaks the
    line and, when ``hidden_label`` is given, is marked on the x axis with that label ("too few answers"), so a
    gap reads as protected data rather than a line that just stops. The legend sits below the plot and the image
    grows to hold it, so no entry is cut off.
    """
    def rounded(value: float) -> float:
        return round_half_away(value, decimals)

    series = [Series(s.label, [None if v is None else rounded(v) for v in s.values],
                     [None if i is None else (rounded(i[0]), rounded(i[1])) for i in s.intervals], s.notes)
              for s in series]
    styles = MONO if monochrome else STYLES
    low_y, high_y = y_range

    with _lock, rc_context({"svg.fonttype": "none", "svg.hashsalt": "pulse", "font.size": 10,
                            "font.family": "sans-serif"}):
        figure = Figure(figsize=(6.4, 3.2), dpi=100)
        axes = figure.add_subplot()
        positions = list(range(len(rounds)))
        offsets = _offsets(len(series))
        for index, item in enumerate(series):
            colour, marker, style = styles[index % len(styles)]
            # Break the line at hidden rounds so no value is implied between them.
            segments: list[tuple[list[int], list[float]]] = [([], [])]
            for p, v in zip(positions, item.values, strict=True):
                if v is None:
                    segments.append(([], []))
                    continue
                segments[-1][0].append(p)
                segments[-1][1].append(v)
            for seg_x, seg_y in segments:
                if seg_x:
                    axes.plot(seg_x, seg_y, color=colour, linestyle=style, linewidth=2)
            xs = [p for p, v in zip(positions, item.values, strict=True) if v is not None]
            ys = [v for v in item.values if v is not None]
            axes.plot(xs, ys, color=colour, marker=marker, linestyle="none", label=_wrap(item.label),
                      markersize=6)
            # Intervals as vertical bars beside the point (a small offset per series keeps them apart); drawn as a
            # line collection, so they are not mistaken for plotted values.
            bars = [[(p + offsets[index], max(i[0], low_y)), (p + offsets[index], min(i[1], high_y))]
                    for p, i, v in zip(positions, item.intervals, item.values, strict=False)
                    if i is not None and v is not None]
            if bars:
                axes.vlines([b[0][0] for b in bars], [b[0][1] for b in bars], [b[1][1] for b in bars],
                            colors=colour, linewidth=1, alpha=0.8)
            # A bound is written as its text just above the axis, in the series' colour (not plotted: no value).
            for p in positions:
                note = item.note(p)
                if note:
                    axes.text(p + offsets[index], low_y + (high_y - low_y) * (0.12 + 0.07 * index), note,
                              color=colour, fontsize=7, ha="center", va="bottom")
        handles = list(axes.get_legend_handles_labels()[0])
        hidden = [p for p in positions if any(item.values[p] is None and not item.note(p) for item in series)]
        if hidden_label and hidden:
            # A cross on the axis where a round is hidden (a marker collection, not a plotted value).
            axes.scatter(hidden, [low_y + (high_y - low_y) * 0.05] * len(hidden), marker="x", s=40, color="#000000",
                         linewidths=1.5, clip_on=False)
            handles.append(Line2D([], [], color="#000000", marker="x", linestyle="none", markersize=6,
                                  label=hidden_label))
        axes.set_ylim(*y_range)
        # Tick labels in the page's language ("2,5" in Swedish), at the axis's one decimal.
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.{decimals}f}".replace(".", decimal_mark)))
        axes.set_xlim(-0.5, max(len(rounds) - 0.5, 0.5))
        axes.set_xticks(positions, list(rounds), rotation=0)
        axes.set_ylabel(y_label)
        if x_label:
            axes.set_xlabel(x_label)
        axes.grid(axis="y", color="#c9ced6", linewidth=0.8)
        axes.spines[["top", "right"]].set_visible(False)
        extra = []
        if series:
            legend = figure.legend(loc="upper left", bbox_to_anchor=(0.0, 0.0), ncol=1, frameon=False, fontsize=8,
                                   handles=handles)
            extra.append(legend)
        figure.subplots_adjust(bottom=0.2, left=0.1, right=0.98, top=0.95)
        buffer = io.BytesIO()
        # "tight" grows the image to hold the legend below the axes: no entry is cut off.
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "Pulse"}, bbox_inches="tight",
                       bbox_extra_artists=extra, pad_inches=0.1)
    return _accessible(buffer.getvalue().decode(), title, description).encode()


def _offsets(count: int) -> list[float]:
    """Horizontal offsets of the series' interval bars around each round, so overlapping bars stay apart."""
    if count <= 1:
        return [0.0] * count
    step = 0.12
    return [(i - (count - 1) / 2) * step for i in range(count)]


def _wrap(label: str) -> str:
    return "\n".join(textwrap.wrap(label, LEGEND_WIDTH)) or label


def _accessible(svg: str, title: str, description: str) -> str:
    """Give the SVG a role, a title and a description, so it reads as one labelled image."""
    svg = re.sub(r"<svg ", '<svg role="img" aria-labelledby="chart-title chart-desc" ', svg, count=1)
    head = f'<title id="chart-title">{escape(title)}</title><desc id="chart-desc">{escape(description)}</desc>'
    return re.sub(r"(<svg[^>]*>)", r"\1" + head.replace("\\", "\\\\"), svg, count=1)
