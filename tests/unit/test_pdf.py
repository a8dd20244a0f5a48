"""The PDF foundation: embedded fonts with Swedish characters, the document language, an outline, vector charts
with alternative text, tables — read back with pypdf as a reader would."""

from __future__ import annotations

import io

from pypdf import PdfReader

from pulse.reporting.charts import Series, line_chart
from pulse.reporting.pdf import Document, Meta


def make() -> bytes:
    doc = Document(Meta(title="APT-underlag: Medborgarkontor Rinkeby", language="sv", subject="Arbetsmiljö"),
                   footer_text="Pulse · Veckopuls")
    doc.title_block("APT-underlag: Medborgarkontor Rinkeby", ["Omgång 6 · stängde tisdag 1 december 2026"])
    doc.heading("Styrkor och bekymmer")
    doc.paragraph("Åtta av tio svarade. Ärenden, återkoppling och öppenhet — öäå ÖÄÅ é ü.")
    doc.bullets(["Jag vågar säga vad jag tycker: 4,1", "Arbetsbelastning: ≤ 1,5"])
    doc.grid(["Aktivitet", "Ansvarig", "Klart senast"], [["Planera bemanning", "Chef", "2026-12-15"]], empty_rows=2)
    svg = line_chart("Trend", "Medelvärde per omgång", ["1", "2", "3"], [Series("Arbetsbelastning", [3.1, None, 3.4])],
                     y_range=(1, 5), y_label="Medel")
    doc.chart(svg, "Arbetsbelastning: 3,1 i omgång 1, för få svar i omgång 2, 3,4 i omgång 3.")
    return doc.rendered()


def test_text_language_fonts_outline_and_chart() -> None:
    data = make()
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in ("Styrkor och bekymmer", "Åtta av tio svarade", "öäå ÖÄÅ", "≤ 1,5", "Planera bemanning",
                     "Klart senast"):
        assert expected in text, expected
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "sv"
    def titles(items: list) -> list[str]:  # type: ignore[type-arg]
        return [t for item in items for t in (titles(item) if isinstance(item, list) else [item.title])]

    assert titles(reader.outline)[:2] == ["APT-underlag: Medborgarkontor Rinkeby", "Styrkor och bekymmer"]
    fonts = [f.get_object() for page in reader.pages for f in page["/Resources"]["/Font"].values()]
    descriptors = [f["/DescendantFonts"][0].get_object()["/FontDescriptor"] for f in fonts if "/DescendantFonts" in f]
    assert descriptors and all("/FontFile2" in d for d in descriptors)  # embedded, not referenced
    # The chart's text too: no core font (not embedded, and without "−") stands in for matplotlib's families.
    assert all("/DescendantFonts" in f for f in fonts), [f.get("/BaseFont") for f in fonts]
    # The chart is vector paths (no raster image) and its alternative text is in the structure tree.
    xobjects = reader.pages[0]["/Resources"].get("/XObject", {})
    assert not [x for x in xobjects.values() if x.get_object().get("/Subtype") == "/Image"]
    def alts(node: object) -> list[str]:
        node = node.get_object()  # type: ignore[attr-defined]
        found = [str(node["/Alt"])] if "/Alt" in node else []
        kids = node.get("/K")
        for kid in kids if isinstance(kids, list) else [kids]:
            if hasattr(kid, "get_object") and isinstance(kid.get_object(), dict):
                found += alts(kid)
        return found

    assert bool(root["/MarkInfo"]["/Marked"])
    assert "Arbetsbelastning: 3,1 i omgång 1, för få svar i omgång 2, 3,4 i omgång 3." in alts(root["/StructTreeRoot"])
    assert reader.metadata.title == "APT-underlag: Medborgarkontor Rinkeby"
