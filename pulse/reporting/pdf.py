"""PDF documents (the APT pack, the safety representative's report): A4, embedded fonts, vector charts.

Why fpdf2: it is pure Python (so `make run` still needs nothing but Python), well kept, embeds TrueType fonts as
subsets (Swedish and every other script DejaVu covers), draws matplotlib's SVG as vectors, sets the document
language, writes an outline of the headings, and tags images with their alternative text in a structure tree.
WeasyPrint would tag more (PDF/UA) but needs Pango and Cairo from the operating system; reportlab's open edition
tags nothing. What fpdf2 cannot tag (headings, paragraphs and tables as structure elements) is said in
docs/ARCHITECTURE.md, "PDF".

Every figure in a PDF comes from the gate (pulse.disclosure), formatted by pulse.common.format, like the pages:
the document shows exactly what the page shows. The fonts ship with matplotlib (DejaVu), so nothing is downloaded.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import re
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from fontTools import ttLib
from fpdf import FPDF, XPos, YPos
from fpdf.fonts import FontFace, SubsetMap, TextStyle, TTFFont

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FAMILY = "DejaVu"
#: Black and greys only, so a print in black and white loses nothing.
INK = (0, 0, 0)
MUTED = (80, 80, 80)
RULE = (160, 160, 160)
SHADE = (235, 235, 235)


#: The faces a document uses (regular and bold: muted text is grey, not italic).
FONTS = (("", "DejaVuSans.ttf"), ("B", "DejaVuSans-Bold.ttf"))

#: Each face parsed once per process (widths and character map: most of a document's start-up time); a document gets
#: a copy with its own font file handle and subset, since fpdf2 subsets the font file in place when it writes.
_faces: dict[str, TTFFont] = {}
_faces_lock = threading.Lock()


def _add_font(document: FPDF, style: str, path: Path) -> None:
    key = f"{FAMILY.lower()}{style}"
    with _faces_lock:
        face = _faces.get(key)
    if face is None:
        document.add_font(FAMILY, style, path)
        added = document.fonts[key]
        assert isinstance(added, TTFFont)
        with _faces_lock:
            _faces[key] = copy.copy(added)
        return
    font = copy.copy(face)
    font.ttfont = ttLib.TTFont(path, recalcTimestamp=False, lazy=True)
    font.i = len(document.fonts) + 1
    font.biggest_size_pt = 0
    font.missing_glyphs = []
    font._hbfont = None  # noqa: SLF001 - fpdf2 shapes lazily through it; a fresh one per document
    font.subset = SubsetMap(font)
    document.fonts[key] = font


@dataclass(frozen=True)
class Meta:
    title: str
    language: str  # "sv" or "en"
    subject: str = ""
    created: dt.datetime | None = None


@dataclass(frozen=True)
class Sparkline:
    """A small line chart drawn in a table cell, black on white: runs of points (x, y), both from 0 to 1 with y
    upwards, and a gap between runs (a lone point is a dot). The row's text carries the same figures."""

    runs: Sequence[Sequence[tuple[float, float]]]


class Document(FPDF):
    """An A4 document in Pulse's house layout: title block, headings with an outline, paragraphs, tables and vector
    charts, page numbers in the footer."""

    def __init__(self, meta: Meta, *, footer_text: str = "") -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.meta = meta
        self.footer_text = footer_text
        for style, name in FONTS:
            _add_font(self, style, FONT_DIR / name)
        self.set_lang(meta.language)
        self.set_title(meta.title)
        self.set_subject(meta.subject)
        self.set_author("Pulse")
        self.set_creator("Pulse")
        self.set_creation_date(meta.created or dt.datetime.now(dt.UTC))
        self.set_margins(18, 16, 18)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_section_title_styles(
            TextStyle(font_family=FAMILY, font_style="B", font_size_pt=15, color=INK, t_margin=2, b_margin=3),
            TextStyle(font_family=FAMILY, font_style="B", font_size_pt=12, color=INK, t_margin=4, b_margin=2),
            TextStyle(font_family=FAMILY, font_style="B", font_size_pt=10.5, color=INK, t_margin=3, b_margin=1.5))
        self.alias_nb_pages()
        self.add_page()
        self.set_text_color(*INK)
        self.set_font(FAMILY, size=10)

    # --- layout ---------------------------------------------------------------------------------------------

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, size=8)
        self.set_text_color(*MUTED)
        self.cell(0, 5, f"{self.footer_text}    {self.page_no()}/{{nb}}".strip(), align="R")
        self.set_text_color(*INK)

    def title_block(self, title: str, lines: Sequence[str] = ()) -> None:
        """The document's title (the outline's first entry) and a few lines under it."""
        self.start_section(title, level=0)
        self.set_font(FAMILY, size=9)
        self.set_text_color(*MUTED)
        for line in lines:
            self.multi_cell(0, 4.8, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)
        self.ln(2)

    def heading(self, text: str, level: int = 1) -> None:
        """A heading, also an entry of the document outline (bookmarks)."""
        if self.will_page_break(20):
            self.add_page()
        self.start_section(text, level=max(1, min(level, 2)))
        self.set_font(FAMILY, size=10)

    def paragraph(self, text: str, *, size: float = 10, bold: bool = False, muted: bool = False) -> None:
        self.set_font(FAMILY, "B" if bold else "", size)
        if muted:
            self.set_text_color(*MUTED)
        self.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)
        self.ln(1.5)

    def bullets(self, items: Sequence[str]) -> None:
        self.set_font(FAMILY, size=10)
        for item in items:
            self.set_x(self.l_margin)
            self.cell(5, 5, "•")
            self.multi_cell(0, 5, item, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)

    def grid(self, header: Sequence[str], rows: Sequence[Sequence[str]], *,
             widths: Sequence[float] | None = None, empty_rows: int = 0) -> None:
        """A table with a header row (repeated on a new page), thin grey rules, text only (no colour needed)."""
        self.set_font(FAMILY, size=9)
        self.set_draw_color(*RULE)
        with self.table(col_widths=tuple(widths) if widths else None, line_height=5.2, text_align="LEFT",
                        headings_style=FontFace(emphasis="BOLD", fill_color=SHADE), first_row_as_headings=True,
                        borders_layout="HORIZONTAL_LINES") as table:
            table.row(list(header))
            for values in rows:
                table.row([str(v) for v in values])
            for _ in range(empty_rows):
                table.row([" " for _ in header])
        self.ln(2)

    def long_grid(self, header: Sequence[str], rows: Sequence[Sequence[str]], *,
                  widths: Sequence[float] | None = None, size: float = 8,
                  bold_rows: Collection[int] = (), sparklines: Mapping[int, Sparkline] | None = None,
                  spark_column: int = -1) -> None:
        """A long table (thousands of cells) drawn line by line: the header repeated on every page, thin grey rules,
        text wrapped at word boundaries. fpdf2's ``table()`` lays every cell out with its full line breaker, which
        takes seconds for a year of results; this draws the same text in a fraction of the time. ``sparklines``
        (by row index) are drawn as vector lines in column ``spark_column``."""
        self.set_font(FAMILY, size=size)
        widths = list(widths) if widths else [self.epw / len(header)] * len(header)
        pad, line = 1.0, size * 0.42
        break_before = self.auto_page_break
        self.set_auto_page_break(False)

        def measure(text: str) -> float:
            # The font's own character widths, without fpdf2's per-call text preparation (bidi, markdown).
            font = self.current_font
            assert font is not None
            return float(font.get_text_width(text, self.font_size_pt, None)[1]) / self.k

        def wrap(text: str, width: float) -> list[str]:
            lines: list[str] = []
            for paragraph in str(text).split("\n"):
                current = ""
                for word in paragraph.split(" "):
                    candidate = f"{current} {word}" if current else word
                    if measure(candidate) <= width:
                        current = candidate
                        continue
                    if current:
                        lines.append(current)
                    while measure(word) > width and len(word) > 1:  # a word wider than the column
                        cut = max(1, int(len(word) * width / measure(word)))
                        lines.append(word[:cut])
                        word = word[cut:]
                    current = word
                lines.append(current)
            return lines or [""]

        def draw(cells: Sequence[str], *, bold: bool, strong: bool = False, spark: Sparkline | None = None) -> None:
            self.set_font(FAMILY, "B" if bold or strong else "", size)
            wrapped = [wrap(cell, width - 2 * pad) for cell, width in zip(cells, widths, strict=False)]
            height = max(len(lines) for lines in wrapped) * line + 2 * pad
            if spark is not None:
                height = max(height, 8.0)
            if self.get_y() + height > self.page_break_trigger:
                self.add_page()
                if not bold:
                    draw(header, bold=True)
            top, x = self.get_y(), self.l_margin
            if bold:
                self.set_fill_color(*SHADE)
                self.rect(x, top, sum(widths), height, style="F")
            for column, (lines, width) in enumerate(zip(wrapped, widths, strict=False)):
                for number, text in enumerate(lines):
                    if text:
                        self.text(x + pad, top + pad + (number + 0.8) * line, text)
                if spark is not None and column == spark_column:
                    self._sparkline(spark, x + pad, top + pad, width - 2 * pad, height - 2 * pad)
                x += width
            self.set_draw_color(*RULE)
            self.line(self.l_margin, top + height, self.l_margin + sum(widths), top + height)
            self.set_y(top + height)

        draw(header, bold=True)
        for number, row in enumerate(rows):
            draw([str(v) for v in row], bold=False, strong=number in bold_rows,
                 spark=sparklines.get(number) if sparklines else None)
        self.set_font(FAMILY, size=10)
        self.set_auto_page_break(break_before, margin=18)
        self.ln(2)

    def _sparkline(self, spark: Sparkline, x: float, y: float, width: float, height: float) -> None:
        """Draw a sparkline in the box (x, y, width, height), in black: lines, and a dot for a lone point."""
        thin = self.line_width
        self.set_draw_color(*INK)
        self.set_fill_color(*INK)
        self.set_line_width(0.3)
        for run in spark.runs:
            points = [(x + px * width, y + (1 - py) * height) for px, py in run]
            if len(points) == 1:
                (cx, cy), = points
                self.rect(cx - 0.4, cy - 0.4, 0.8, 0.8, style="F")
            else:
                self.polyline(points)
        self.set_line_width(thin)
        self.set_draw_color(*RULE)

    def chart(self, svg: bytes, alt_text: str, *, width: float = 160) -> None:
        """A matplotlib chart drawn as vectors, with its alternative text in the structure tree."""
        if self.will_page_break(70):
            self.add_page()
        self.image(_plain_svg(svg), w=width, alt_text=alt_text, x=self.l_margin)
        self.ln(3)

    def rendered(self) -> bytes:
        return bytes(self.output())


def _plain_svg(svg: bytes) -> io.BytesIO:
    """Pulse's chart SVG without the <title>/<desc> the pages use for screen readers (the PDF carries the same
    text as the image's alternative text) and with its text in the embedded face, as a file-like object fpdf2
    reads."""
    text = svg.decode()
    text = re.sub(r"<title[^>]*>.*?</title>", "", text, flags=re.S)
    text = re.sub(r"<desc[^>]*>.*?</desc>", "", text, flags=re.S)
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    # Chart text in the document's embedded face (matplotlib names a list of system families, which fpdf2 would
    # replace by a core font that is neither embedded nor able to write "−").
    text = re.sub(r"font-family:[^;\"]*", f"font-family: {FAMILY}", text)
    return io.BytesIO(text.encode())
