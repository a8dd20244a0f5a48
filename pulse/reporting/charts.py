"""Trend charts as SVG, drawn with matplotlib's object API (never pyplot in the server: it keeps global state).

Each chart has a <title> and <desc>, and the page shows the same numbers in a table beside it.

Points are drawn at the published figure, rounded once more here with the one rounding of published figures, so
no marker or line coordinate can be read back into a finer value (docs/ANONYMITY.md, "Precision").
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from pulse.domain.stats import round_half_away

#: Colours that stay distinct in grey-scale print, with a marker each so colour is never the only signal.
STYLES = [("#1d4f91", "o", "-"), ("#b3261e", "s", "--"), ("#1e7b34", "^", "-."), ("#6b3fa0", "D", ":"),
          ("#8a5300", "v", "-"), ("#4a4f57", "P", "--")]

_lock = threading.Lock()  # matplotlib's text layout is not thread-safe across figures


@dataclass(frozen=True)
class Series:
    label: str
    #: One value per round; None where the figure is hidden.
    values: Sequence[float | None]


def line_chart(title: str, description: str, rounds: Sequence[str], series: Sequence[Series], *,
               y_range: tuple[float, float], y_label: str, decimals: int = 1) -> bytes:
    """An accessible SVG line chart (gaps where a value is hidden); values are plotted at ``decimals`` places."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    series = [Series(s.label, [None if v is None else round_half_away(v, decimals) for v in s.values])
              for s in series]

    with _lock, rc_context({"svg.fonttype": "none", "svg.hashsalt": "pulse", "font.size": 10,
                            "font.family": "sans-serif"}):
        figure = Figure(figsize=(6.4, 3.2), dpi=100)
        axes = figure.add_subplot()
        positions = list(range(len(rounds)))
        for index, item in enumerate(series):
            colour, marker, style = STYLES[index % len(STYLES)]
            xs = [p for p, v in zip(positions, item.values, strict=True) if v is not None]
            ys = [v for v in item.values if v is not None]
            # Break the line at hidden rounds so no value is implied between them.
            segments: list[tuple[list[int], list[float]]] = []
            for p, v in zip(positions, item.values, strict=True):
                if v is None:
                    segments.append(([], []))
                    continue
                if not segments:
                    segments.append(([], []))
                segments[-1][0].append(p)
                segments[-1][1].append(v)
            for seg_x, seg_y in segments:
                if seg_x:
                    axes.plot(seg_x, seg_y, color=colour, linestyle=style, linewidth=2)
            axes.plot(xs, ys, color=colour, marker=marker, linestyle="none", label=item.label, markersize=6)
        axes.set_ylim(*y_range)
        axes.set_xticks(positions, list(rounds), rotation=0)
        axes.set_ylabel(y_label)
        axes.grid(axis="y", color="#c9ced6", linewidth=0.8)
        axes.spines[["top", "right"]].set_visible(False)
        if series:
            axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False, fontsize=8)
        figure.subplots_adjust(bottom=0.38, left=0.1, right=0.98, top=0.95)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "Pulse"})
    return _accessible(buffer.getvalue().decode(), title, description).encode()


def _accessible(svg: str, title: str, description: str) -> str:
    """Give the SVG a role, a title and a description, so it reads as one labelled image."""
    svg = re.sub(r"<svg ", '<svg role="img" aria-labelledby="chart-title chart-desc" ', svg, count=1)
    head = f'<title id="chart-title">{escape(title)}</title><desc id="chart-desc">{escape(description)}</desc>'
    return re.sub(r"(<svg[^>]*>)", r"\1" + head.replace("\\", "\\\\"), svg, count=1)
